/** Shared by the ONNX tests: ONNX Runtime as the reference, and the acceptance bound. */
import { expect } from 'chai';
import * as ort from 'onnxruntime-node';

/** ONNX Runtime's output for `x` (batch-first float32 data). */
export async function ortRun(file: string, data: Float32Array, shape: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
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

