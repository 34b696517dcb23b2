/** Shared by the ONNX tests: ONNX Runtime as the reference, and the acceptance bound. */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';

/** ONNX Runtime's output for `x` (batch-first float32 data). */
export async function ortRun(file: string | Uint8Array, data: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = typeof file === 'string' ? await ort.InferenceSession.create(file) : await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, shape) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** |got − ref| ≤ 1e-4·max|ref| everywhere (the acceptance bound); the message names the worst element. */
export function expectWithin(got: ArrayLike<number>, ref: ArrayLike<number>, what: string): void {
  expect(got.length, `${what}: length`).to.equal(ref.length);
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) maxRef = Math.max(maxRef, Math.abs(ref[i]));
  let worst = 0;
  let at = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  expect(worst, `${what}: |Δ| ${worst} at ${at} (got ${got[at]}, ref ${ref[at]}), bound 1e-4·${maxRef}`).to.be.at.most(1e-4 * maxRef);
}


/** Attribute builders for hand-encoded ONNX nodes. */
export const A = {
  i: (name: string, i: number) => ({ name, type: 2, i }),
  f: (name: string, f: number) => ({ name, type: 1, f }),
  ints: (name: string, ints: number[]) => ({ name, type: 7, ints }),
  s: (name: string, s: string) => ({ name, type: 3, s: new TextEncoder().encode(s) }),
};

/** A hand-written node: op, inputs, outputs, attributes. */
export interface NodeDef {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  attribute?: object[];
}

/** An initializer: float data (or int64 with `int: true`) and dims. */
export interface InitDef {
  dims: number[];
  data: ArrayLike<number>;
  int?: boolean;
}

/**
 * Encodes a one-input, one-output ONNX model (input 'x' with a symbolic batch, output 'y') with
 * protobufjs and the official schema.
 */
export function encodeModel(encode: (msg: object) => Uint8Array, nodes: NodeDef[], inits: Record<string, InitDef>, sample: number[], opset = 13): Uint8Array {
  const info = (name: string, dims: (number | string)[] | null) => ({
    name,
    type: { tensor_type: { elem_type: 1, ...(dims ? { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } : {}) } },
  });
  return encode({
    ir_version: 8,
    opset_import: [{ domain: '', version: opset }],
    graph: {
      name: 'g',
      node: nodes,
      initializer: Object.entries(inits).map(([name, t]) =>
        t.int
          ? { name, dims: t.dims, data_type: 7, int64_data: Array.from(t.data) }
          : { name, dims: t.dims, data_type: 1, raw_data: new Uint8Array(Float32Array.from(t.data).buffer) },
      ),
      input: [info('x', ['N', ...sample])],
      output: [info('y', null)],
    },
  });
}
