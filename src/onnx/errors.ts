/** Errors of the ONNX importer: every message names the model (file or label) it is about. */

/** An error in an ONNX model or its use: the message starts with `kdgpu: <source>:`. */
export class OnnxError extends Error {
  constructor(
    /** The model's file name or label. */
    readonly source: string,
    message: string,
  ) {
    super(`kdgpu: ${source}: ${message}`);
    this.name = 'OnnxError';
  }
}

/** Largest tensor the importer accepts, in elements (one storage binding holds at most 2³¹ bytes anyway). */
export const MAX_ELEMENTS = 2 ** 29;

/** Element count of `dims`, or an OnnxError when a dimension is negative/non-integer or the product exceeds MAX_ELEMENTS. */
export function checkedSize(source: string, what: string, dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new OnnxError(source, `${what} has dimension ${d} in [${dims.join(', ')}]; expected non-negative integers`);
    n *= d;
    // Checked at every step: a product of large dims can overflow 2⁵³ and read as anything.
    if (n > MAX_ELEMENTS) throw new OnnxError(source, `${what} has dims [${dims.join(', ')}], more than ${MAX_ELEMENTS} elements; refused before allocating`);
  }
  return n;
}
