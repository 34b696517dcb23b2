/**
 * Writes the Fashion-MNIST subset the web page ships with (examples/web/data/): the first 3,200
 * training images (50 steps of batch 64 per epoch) and the first 1,000 test images, as gzipped
 * IDX files in the original layout, so the page parses them with the same reader as the full set.
 *
 *   npx tsx examples/web/make-subset.ts    (needs: apt-get install -y dataset-fashion-mnist)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'fflate';
import { fashionMnistDirs, readIdxFile } from '../../src/data/node-files.js';

export const SUBSET = { train: 3200, test: 1000 } as const;
const OUT = join(dirname(fileURLToPath(import.meta.url)), 'data');

/** IDX bytes (uint8 values) of the first `count` items of a file. */
function idxHead(path: string, count: number): Uint8Array {
  const a = readIdxFile(path);
  if (a.type !== 'uint8') throw new Error(`${path}: expected uint8 IDX data, got ${a.type}`);
  const dims = [count, ...a.dims.slice(1)];
  const per = dims.slice(1).reduce((p, d) => p * d, 1);
  const out = new Uint8Array(4 + 4 * dims.length + count * per);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(a.data.subarray(0, count * per) as Uint8Array, 4 + 4 * dims.length);
  return out;
}

const dir = fashionMnistDirs()[0];
mkdirSync(OUT, { recursive: true });
for (const [split, prefix] of [['train', 'train'], ['test', 't10k']] as const) {
  for (const kind of ['images-idx3', 'labels-idx1']) {
    const name = `${prefix}-${kind}-ubyte.gz`;
    // mtime 0 keeps the bytes identical from run to run.
    const bytes = gzipSync(idxHead(join(dir, name), SUBSET[split]), { level: 9, mtime: 0 });
    writeFileSync(join(OUT, name), bytes);
    console.log(`${join(OUT, name)}: ${bytes.length} bytes`);
  }
}
