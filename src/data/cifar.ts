/**
 * CIFAR-10's binary format: records of 1 label byte + 3072 pixel bytes (3×32×32, CHW).
 * Sizes are checked before anything is built; errors name the file.
 */
import type { ArrayDataset } from './dataset.js';

/** Bytes per CIFAR-10 record: 1 label byte + 3072 pixel bytes. */
export const CIFAR_RECORD = 1 + 3 * 32 * 32;

/**
 * A CIFAR-10 binary batch as a dataset of [3, 32, 32] images scaled to [0, 1], 10 classes; `name`
 * (a path or URL) appears in every error.
 */
export function parseCifar10(bytes: Uint8Array, name: string): ArrayDataset {
  if (bytes.length === 0 || bytes.length % CIFAR_RECORD !== 0) {
    throw new Error(`kdgpu: ${name}: ${bytes.length} bytes is not a whole number of CIFAR-10 records (${CIFAR_RECORD} bytes each)`);
  }
  const count = bytes.length / CIFAR_RECORD;
  const x = new Float32Array(count * 3072);
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const off = i * CIFAR_RECORD;
    const label = bytes[off];
    if (label > 9) throw new Error(`kdgpu: ${name}: record ${i} has label ${label}, expected 0–9`);
    y[i] = label;
    for (let j = 0; j < 3072; j++) x[i * 3072 + j] = bytes[off + 1 + j] / 255;
  }
  return { x, y, sampleShape: [3, 32, 32], count, classes: 10 };
}

/** Joins datasets of the same sample shape. */
export function concatDatasets(parts: ArrayDataset[]): ArrayDataset {
  if (!parts.length) throw new Error('kdgpu: concatDatasets: no datasets');
  const shape = parts[0].sampleShape;
  for (const p of parts) {
    if (p.sampleShape.join() !== shape.join()) throw new Error(`kdgpu: concatDatasets: sample shapes [${shape}] and [${p.sampleShape}] differ`);
  }
  const count = parts.reduce((s, p) => s + p.count, 0);
  const x = new Float32Array(parts.reduce((s, p) => s + p.x.length, 0));
  const y = new Int32Array(count);
  let xo = 0;
  let yo = 0;
  for (const p of parts) {
    x.set(p.x, xo);
    y.set(p.y, yo);
    xo += p.x.length;
    yo += p.y.length;
  }
  return { x, y, sampleShape: [...shape], count, classes: parts[0].classes };
}

/** Pairs an MNIST-style image set with its shape. */
export function fromImageSet(s: { images: Float32Array; labels: Int32Array; count: number; rows: number; cols: number }): ArrayDataset {
  return { x: s.images, y: s.labels, sampleShape: [1, s.rows, s.cols], count: s.count, classes: 10 };
}
