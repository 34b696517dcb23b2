/** External data handed over as bytes (browsers, or files already in memory). */
import { OnnxError } from './errors.js';
import type { ExternalDataReader } from './tensor-data.js';

/**
 * An ExternalDataReader over `files` (location as written in the model → its bytes), checking
 * each requested range against the bytes given.
 */
export function bytesDataReader(files: Readonly<Record<string, Uint8Array>> | ReadonlyMap<string, Uint8Array>, source = 'model.onnx'): ExternalDataReader {
  const get = (k: string) => (files instanceof Map ? files.get(k) : (files as Record<string, Uint8Array>)[k]);
  return (location, offset, length) => {
    const b = Object.prototype.hasOwnProperty.call(files, location) || files instanceof Map ? get(location) : undefined;
    if (!b) throw new OnnxError(source, `external data '${location}' was not given (pass it in the externalData files)`);
    if (offset + length > b.length) throw new OnnxError(source, `external data '${location}' has ${b.length} bytes; the model reads ${length} bytes at offset ${offset}`);
    return b.subarray(offset, offset + length);
  };
}
