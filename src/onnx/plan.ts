/**
 * Static analysis of a parsed graph, before any GPU work: which values are known on the host
 * (constants, shapes and what is computed from them alone), which nodes run on the GPU, which
 * float initializers become trainable parameters or BatchNorm buffers, whether a final
 * Softmax/LogSoftmax is kept out of the logits, and every op-level problem (unsupported
 * attributes, host-only ops on run-time data) reported together.
 */
import { OnnxError } from './errors.js';
import { label, type OnnxGraph, type OnnxNode } from './graph.js';
import { HOST_OPS } from './host-ops.js';

/** One node's place in the forward. */
export interface PlannedNode {
  /** The node. */
  readonly node: OnnxNode;
  /** True when it runs on host values (shape arithmetic); false when it runs on the GPU. */
  readonly host: boolean;
}

/** A final Softmax/LogSoftmax kept out of the model's output. */
export interface StrippedActivation {
  /** The value handed out instead: the activation's input (the logits). */
  readonly value: string;
  /** Which activation it was. */
  readonly op: 'Softmax' | 'LogSoftmax';
}

/** What `planGraph` decides. */
export interface GraphPlan {
  /** Nodes to run, in order (a stripped final softmax left out). */
  readonly steps: readonly PlannedNode[];
  /** Float initializers read as GPU data (trainable parameters), in first-use order. */
  readonly params: readonly string[];
  /** BatchNormalization running statistics (buffers). */
  readonly buffers: ReadonlySet<string>;
  /** How many nodes read each value. */
  readonly uses: ReadonlyMap<string, number>;
  /** Graph output → the value handed out instead (a final Softmax/LogSoftmax's input). */
  readonly logitsOf: ReadonlyMap<string, StrippedActivation>;
}

/** The input slots of an op that carry tensor data; its other inputs are settings that must be known on the host. */
export function dataSlots(op: string, count: number): number[] {
  switch (op) {
    case 'Conv':
    case 'Gemm':
      return [0, 1, 2];
    case 'MatMul':
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
      return [0, 1];
    case 'BatchNormalization':
      return [0, 1, 2, 3, 4];
    case 'Concat':
      return Array.from({ length: count }, (_, i) => i);
    default:
      return [0];
  }
}

const AUTO_PADS = new Set(['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);

/** Problems with a GPU node's attributes or outputs that the importer cannot run, or null. */
function check(n: OnnxNode, g: OnnxGraph, uses: ReadonlyMap<string, number>): string | null {
  const a = (k: string) => n.attrs.get(k);
  const used = (i: number) => !!n.outputs[i] && (uses.has(n.outputs[i]) || g.outputs.some((o) => o.name === n.outputs[i]));
  const ints = (k: string) => a(k) as number[] | undefined;
  switch (n.opType) {
    case 'Conv':
    case 'MaxPool':
    case 'AveragePool': {
      const ap = (a('auto_pad') as string | undefined) ?? 'NOTSET';
      if (!AUTO_PADS.has(ap)) return `auto_pad '${ap}' (expected NOTSET, SAME_UPPER, SAME_LOWER or VALID)`;
      const k = ints('kernel_shape');
      if (k && k.length !== 2) return `a ${k.length}-D kernel (only 2-D, NCHW, is supported)`;
      if (n.opType === 'Conv') {
        const w = g.initializers.get(n.inputs[1]);
        if (w && w.dims.length !== 4) return `a weight of rank ${w.dims.length} (only 2-D convolutions, weight [O, I, kH, kW])`;
      } else {
        if (!k) return 'no kernel_shape';
        if ((ints('dilations') ?? []).some((d) => d !== 1)) return `dilations [${ints('dilations')}] (pooling supports dilation 1)`;
        if (n.opType === 'MaxPool' && used(1)) return 'its Indices output is used';
      }
      return null;
    }
    case 'Pad': {
      const mode = (a('mode') as string | undefined) ?? 'constant';
      return mode === 'constant' ? null : `mode '${mode}' (only 'constant')`;
    }
    case 'Cast': {
      const to = a('to');
      return to === 1 || to === 11 ? null : `Cast to type ${to} of run-time data (only float to float)`;
    }
    case 'Dropout':
      return used(1) ? 'its mask output is used' : null;
    case 'BatchNormalization':
      if (a('training_mode') === 1 || used(1) || used(2)) return 'training_mode = 1 (export the model in eval mode; kdgpu switches BatchNorm to batch statistics itself in train mode)';
      return null;
    case 'Gather':
    case 'ConstantOfShape':
      return `${n.opType} on run-time tensor data (only shape computations, folded on the host, are supported)`;
    default:
      return null;
  }
}

/** Decides how the graph runs (see the module comment); throws one OnnxError listing every problem. */
export function planGraph(g: OnnxGraph, opts: { keepSoftmax?: boolean } = {}): GraphPlan {
  const { source } = g;
  const uses = new Map<string, number>();
  for (const n of g.nodes) for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  // A final Softmax/LogSoftmax: its output is a graph output read by no node.
  const logitsOf = new Map<string, StrippedActivation>();
  const stripped = new Set<OnnxNode>();
  if (!opts.keepSoftmax) {
    for (const n of g.nodes) {
      if ((n.opType === 'Softmax' || n.opType === 'LogSoftmax') && g.outputs.some((o) => o.name === n.outputs[0]) && !uses.has(n.outputs[0])) {
        logitsOf.set(n.outputs[0], { value: n.inputs[0], op: n.opType });
        stripped.add(n);
      }
    }
  }
  const hostKnown = new Set<string>(g.initializers.keys());
  const params: string[] = [];
  const paramSet = new Set<string>();
  const buffers = new Set<string>();
  const problems: string[] = [];
  const steps: PlannedNode[] = [];
  for (const n of g.nodes) {
    if (stripped.has(n)) continue;
    const present = n.inputs.filter((i) => i);
    const host = n.opType === 'Constant' || n.opType === 'Shape' || (HOST_OPS.has(n.opType) && present.every((i) => hostKnown.has(i)));
    if (host) {
      for (const o of n.outputs) if (o) hostKnown.add(o);
      steps.push({ node: n, host });
      continue;
    }
    const problem = check(n, g, uses);
    if (problem) problems.push(`node ${label(n)}: ${problem}`);
    const data = new Set(dataSlots(n.opType, n.inputs.length));
    n.inputs.forEach((name, i) => {
      if (!name) return;
      if (!data.has(i)) {
        if (!hostKnown.has(name)) problems.push(`node ${label(n)}: input ${i} ('${name}') must be a constant or computed from shapes, but depends on run-time data`);
        return;
      }
      const init = g.initializers.get(name);
      if (!init || init.dtype !== 'float') return;
      if (n.opType === 'BatchNormalization' && i >= 3) buffers.add(name);
      else if (!paramSet.has(name)) {
        paramSet.add(name);
        params.push(name);
      }
    });
    steps.push({ node: n, host: false });
  }
  for (const b of buffers) {
    if (paramSet.has(b)) problems.push(`initializer '${b}' is both a BatchNormalization statistic and another node's input`);
  }
  if (g.inputs.length !== 1) {
    problems.push(`the graph takes ${g.inputs.length} inputs (${g.inputs.map((i) => `'${i.name}'`).join(', ') || 'none'}); a model takes one input tensor`);
  }
  if (problems.length) throw new OnnxError(source, `cannot run this graph:\n  ${problems.join('\n  ')}`);
  return { steps, params, buffers, uses, logitsOf };
}
