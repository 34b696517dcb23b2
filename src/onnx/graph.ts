/**
 * The importer's graph: an ONNX ModelProto as plain data (nodes in run order, attributes as JS
 * values, initializers as host arrays), checked before any GPU work — opset, op support (one
 * error listing every unsupported op), dangling inputs and cycles, initializer sizes. Kept close
 * to ONNX's own structure so writing a graph back out stays a direct mapping.
 */
import { OnnxError } from './errors.js';
import { decodeModel, int64, type Int64 } from './proto.js';
import { int64Value, readTensor, type ExternalDataReader, type HostTensor } from './tensor-data.js';

/** An attribute's value: ints, floats, strings, a tensor, or lists of them. */
export type AttributeValue = number | string | HostTensor | readonly number[] | readonly string[];

/** One ONNX node. */
export interface OnnxNode {
  /** Position in the file's node list. */
  readonly index: number;
  /** The node's name ('' when the file gives none). */
  readonly name: string;
  /** ONNX operator type, e.g. 'Conv'. */
  readonly opType: string;
  /** Operator domain ('' for the default ai.onnx). */
  readonly domain: string;
  /** Input value names ('' for an omitted optional input). */
  readonly inputs: readonly string[];
  /** Output value names. */
  readonly outputs: readonly string[];
  /** Attributes by name. */
  readonly attrs: ReadonlyMap<string, AttributeValue>;
}

/** A graph input or output: its name and dims (numbers, or the name of a symbolic dimension, or null when unknown). */
export interface OnnxValueInfo {
  /** The value's name. */
  readonly name: string;
  /** Dims as declared; null when the file gives no shape. */
  readonly dims: readonly (number | string | null)[] | null;
}

/** A decoded, checked ONNX model. */
export interface OnnxGraph {
  /** The file name or label errors name. */
  readonly source: string;
  /** The ai.onnx opset version the model imports. */
  readonly opset: number;
  /** IR version of the file. */
  readonly irVersion: number;
  /** producer_name and producer_version of the file. */
  readonly producer: string;
  /** Nodes in run order (topologically sorted). */
  readonly nodes: readonly OnnxNode[];
  /** Initializers by name. */
  readonly initializers: ReadonlyMap<string, HostTensor>;
  /** Graph inputs that are not initializers (the data the model takes). */
  readonly inputs: readonly OnnxValueInfo[];
  /** Graph outputs. */
  readonly outputs: readonly OnnxValueInfo[];
}

/** Options of `parseOnnx`. */
export interface ParseOnnxOptions {
  /** Name used in errors (default 'model.onnx'). */
  source?: string;
  /** Reads external-data files (see ExternalDataReader). */
  externalData?: ExternalDataReader;
}

/** The opsets whose operator semantics the importer implements. */
export const OPSET_RANGE: readonly [number, number] = [11, 17];

/** Operators the importer runs (GPU or host). */
export const SUPPORTED_OPS: ReadonlySet<string> = new Set([
  'Conv', 'Gemm', 'MatMul', 'Add', 'Sub', 'Mul', 'Div', 'Relu', 'Clip', 'Sigmoid', 'Tanh', 'LeakyRelu',
  'MaxPool', 'AveragePool', 'GlobalAveragePool', 'ReduceMean', 'BatchNormalization', 'Flatten', 'Reshape',
  'Transpose', 'Concat', 'Pad', 'Dropout', 'Identity', 'Cast', 'Constant', 'Softmax', 'LogSoftmax',
  // Shape arithmetic (folded on the host once the input shape is known), and their tensor forms where cheap.
  'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'ConstantOfShape', 'Slice',
]);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function attribute(source: string, node: string, a: any, reader?: ExternalDataReader): AttributeValue {
  const what = `node '${node}' attribute '${a.name}'`;
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  switch (a.type) {
    case 1: return a.f;
    case 2: return int64Value(a.i as Int64);
    case 3: return dec(a.s);
    case 4: return readTensor(source, a.t, reader);
    case 6: return Array.from(a.floats as number[]);
    case 7: return (a.ints as Int64[]).map(int64Value);
    case 8: return (a.strings as Uint8Array[]).map(dec);
    default: throw new OnnxError(source, `${what} has type ${a.type} (a graph or sparse tensor), which the importer does not read`);
  }
}

/** Sorts nodes so every input is produced before use; errors on a dangling input or a cycle. */
function sortNodes(source: string, nodes: OnnxNode[], available: Set<string>): OnnxNode[] {
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) {
    for (const o of n.outputs) {
      if (!o) continue;
      if (producer.has(o) || available.has(o)) throw new OnnxError(source, `value '${o}' is produced twice (node ${label(n)}); ONNX graphs assign each value once`);
      producer.set(o, n);
    }
  }
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i && !available.has(i) && !producer.has(i)) {
        throw new OnnxError(source, `node ${label(n)} reads '${i}', which no node, initializer or graph input provides (a dangling input)`);
      }
    }
  }
  // Kahn's algorithm, keeping file order among ready nodes.
  const pending = new Map<OnnxNode, number>();
  const users = new Map<string, OnnxNode[]>();
  for (const n of nodes) {
    const deps = new Set(n.inputs.filter((i) => i && producer.has(i)));
    pending.set(n, deps.size);
    for (const d of deps) users.set(d, [...(users.get(d) ?? []), n]);
  }
  const ready = nodes.filter((n) => pending.get(n) === 0);
  const out: OnnxNode[] = [];
  while (ready.length) {
    ready.sort((a, b) => a.index - b.index);
    const n = ready.shift()!;
    out.push(n);
    for (const o of n.outputs) {
      for (const u of users.get(o) ?? []) {
        const left = pending.get(u)! - 1;
        pending.set(u, left);
        if (left === 0) ready.push(u);
      }
    }
  }
  if (out.length < nodes.length) {
    const stuck = nodes.filter((n) => pending.get(n)! > 0).slice(0, 5).map(label);
    throw new OnnxError(source, `the graph has a cycle through node${stuck.length > 1 ? 's' : ''} ${stuck.join(', ')}; ONNX graphs must be acyclic`);
  }
  return out;
}

/** How errors name a node: its name and type, or its index. */
export function label(n: OnnxNode): string {
  return n.name ? `'${n.name}' (${n.opType})` : `#${n.index} (${n.opType})`;
}

/**
 * Decodes and checks an ONNX model: opset in OPSET_RANGE, every op supported (else one error
 * listing each unsupported op type with the first node using it), no dangling input, no cycle,
 * every initializer's data the size its dims say. Runs on the host only.
 */
export function parseOnnx(bytes: Uint8Array, opts: ParseOnnxOptions = {}): OnnxGraph {
  const source = opts.source ?? 'model.onnx';
  const m = decodeModel(bytes, source);
  const g = m.graph;
  let opset = 0;
  for (const o of m.opset_import ?? []) {
    if (!o.domain || o.domain === 'ai.onnx') opset = int64(source, o.version as Int64, 'the opset version');
  }
  if (opset < OPSET_RANGE[0] || opset > OPSET_RANGE[1]) {
    throw new OnnxError(source, `the model uses ai.onnx opset ${opset || '(none declared)'}; the importer supports opsets ${OPSET_RANGE[0]}–${OPSET_RANGE[1]} (re-export with opset_version in that range)`);
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const rawNodes: any[] = g.node ?? [];
  // Unsupported ops first, all at once, before reading attributes or data.
  const firstUse = new Map<string, string>();
  rawNodes.forEach((n, i) => {
    const type = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.op_type}` : String(n.op_type);
    if (!SUPPORTED_OPS.has(type) && !firstUse.has(type)) firstUse.set(type, n.name ? `'${n.name}'` : `#${i}`);
  });
  if (firstUse.size) {
    const list = [...firstUse].map(([t, n]) => `${t} (first at node ${n})`).join(', ');
    throw new OnnxError(source, `unsupported ONNX op${firstUse.size > 1 ? 's' : ''}: ${list}. Supported: ${[...SUPPORTED_OPS].join(', ')}`);
  }
  const nodes: OnnxNode[] = rawNodes.map((n, index) => {
    const name = String(n.name ?? '');
    const attrs = new Map<string, AttributeValue>();
    for (const a of n.attribute ?? []) attrs.set(String(a.name), attribute(source, name || `#${index}`, a, opts.externalData));
    return { index, name, opType: String(n.op_type), domain: String(n.domain ?? ''), inputs: (n.input ?? []).map(String), outputs: (n.output ?? []).map(String), attrs };
  });
  const initializers = new Map<string, HostTensor>();
  for (const t of g.initializer ?? []) {
    const name = String(t.name ?? '');
    if (!name) throw new OnnxError(source, 'an initializer has no name');
    initializers.set(name, readTensor(source, t, opts.externalData));
  }
  if ((g.sparse_initializer ?? []).length) throw new OnnxError(source, 'the model has sparse initializers, which the importer does not read');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const info = (v: any): OnnxValueInfo => {
    const shape = v.type?.tensor_type?.shape;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const dims = shape ? (shape.dim ?? []).map((d: any) => (d.dim_param ? String(d.dim_param) : d.dim_value !== undefined && d.dim_value !== null ? int64(source, d.dim_value, `dimension of '${v.name}'`) || null : null)) : null;
    return { name: String(v.name), dims };
  };
  // Before IR 4, initializers were listed among the inputs too.
  const inputs = (g.input ?? []).map(info).filter((v: OnnxValueInfo) => !initializers.has(v.name));
  const outputs = (g.output ?? []).map(info);
  const available = new Set<string>([...initializers.keys(), ...inputs.map((v: OnnxValueInfo) => v.name)]);
  const sorted = sortNodes(source, nodes, available);
  for (const o of outputs) {
    if (!available.has(o.name) && !nodes.some((n) => n.outputs.includes(o.name))) throw new OnnxError(source, `graph output '${o.name}' is not produced by any node`);
  }
  const producer = `${m.producer_name ?? ''} ${m.producer_version ?? ''}`.trim();
  return { source, opset, irVersion: int64(source, m.ir_version, 'ir_version'), producer, nodes: sorted, initializers, inputs, outputs };
}
