/** Node-only: finds and reads dataset files from disk. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import { imageSetFromIdx, parseIdx, readIdxHeader, type IdxArray, type IdxGunzip, type IdxHeader, type ImageSet } from './idx.js';
import { concatDatasets, fromImageSet, parseCifar10 } from './cifar.js';
import type { ArrayDataset } from './dataset.js';

/** Larger dataset files are refused before they are read. */
const MAX_IDX_FILE_BYTES = 2 ** 31;

/**
 * gunzip for IDX files: the header, inflated from the first few kilobytes, says how large the
 * whole must be, and inflating stops there (a small file cannot inflate to gigabytes); zlib checks
 * the CRC and length of every member (several members are valid gzip, and load).
 */
export const nodeIdxGunzip: IdxGunzip = (gz, name) => {
  const fail = (e: unknown): never => {
    const err = e as NodeJS.ErrnoException;
    const why = /incorrect data check/.test(err.message)
      ? 'its CRC does not match the data'
      : /incorrect length check/.test(err.message)
        ? 'its length field does not match the data'
        : /unexpected end of file/.test(err.message)
          ? 'the gzip stream is truncated'
          : err.message;
    throw new Error(`kdgpu: ${name}: corrupt gzip data (${why})`);
  };
  let header: IdxHeader | null = null;
  for (const n of [4096, 65536, gz.length]) {
    let prefix: Uint8Array;
    try {
      prefix = gunzipSync(gz.subarray(0, n), { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: 1 << 24 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') continue;
      return fail(e);
    }
    if (prefix.length >= 4 && (prefix.length >= 4 + 4 * prefix[3] || n >= gz.length)) {
      header = readIdxHeader(prefix, name);
      break;
    }
    if (n >= gz.length) header = readIdxHeader(prefix, name); // throws: too short for a header
  }
  if (!header) throw new Error(`kdgpu: ${name}: corrupt gzip data (no IDX header could be read)`);
  try {
    return gunzipSync(gz, { maxOutputLength: header.totalBytes });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`kdgpu: ${name}: decompresses to more than the ${header.totalBytes} bytes its IDX header declares (dimensions [${header.dims.join(', ')}])`);
    }
    return fail(e);
  }
};

/** Reads and parses an IDX file (gzipped or raw) from disk; errors name the path. */
export function readIdxFile(path: string): IdxArray {
  if (!existsSync(path)) throw new Error(`kdgpu: dataset file ${path} does not exist`);
  const st = statSync(path);
  if (!st.isFile()) throw new Error(`kdgpu: dataset path ${path} is not a file`);
  if (st.size > MAX_IDX_FILE_BYTES) throw new Error(`kdgpu: dataset file ${path} has ${st.size} bytes; IDX files over ${MAX_IDX_FILE_BYTES} bytes are not read`);
  return parseIdx(new Uint8Array(readFileSync(path)), path, nodeIdxGunzip);
}

/** Where Debian's dataset-fashion-mnist package installs the files. */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

/** Where Fashion-MNIST is looked for, in order. */
export function fashionMnistDirs(explicit?: string): string[] {
  const dirs: string[] = [];
  if (explicit) dirs.push(explicit);
  if (process.env.KDGPU_FASHION_MNIST) dirs.push(process.env.KDGPU_FASHION_MNIST);
  dirs.push(FASHION_MNIST_DEBIAN_DIR);
  dirs.push(join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'kdgpu', 'fashion-mnist'));
  return dirs;
}

const FILES = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
} as const;

function findFile(dir: string, base: string): string | undefined {
  for (const name of [`${base}.gz`, base]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

/** Reads an MNIST-layout split (Fashion-MNIST, MNIST) from the first directory that has it. */
export function loadMnistLike(split: 'train' | 'test', dirs: string[], datasetName: string, installHint: string): ImageSet {
  const [imgBase, lblBase] = FILES[split];
  for (const dir of dirs) {
    const img = findFile(dir, imgBase);
    const lbl = findFile(dir, lblBase);
    if (img && lbl) return imageSetFromIdx(readIdxFile(img), readIdxFile(lbl), [img, lbl]);
  }
  throw new Error(`kdgpu: ${datasetName} (${split}) not found; looked in ${dirs.join(', ')}.\n${installHint}`);
}

/**
 * Reads a Fashion-MNIST split from `dir`, $KDGPU_FASHION_MNIST, the Debian package's folder or
 * ~/.cache/kdgpu/fashion-mnist (the first that has it); the error says how to install it.
 */
export function loadFashionMnist(split: 'train' | 'test', dir?: string): ImageSet {
  return loadMnistLike(
    split,
    fashionMnistDirs(dir),
    'Fashion-MNIST',
    'Install it with:  sudo apt-get install -y dataset-fashion-mnist   (or set KDGPU_FASHION_MNIST to a folder with the four IDX files)',
  );
}

/** CIFAR-10 binary batches from a folder (data_batch_1…5.bin for train, test_batch.bin for test). */
export function loadCifar10(split: 'train' | 'test', dir: string): ArrayDataset {
  const names = split === 'train' ? [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`) : ['test_batch.bin'];
  const parts: ArrayDataset[] = [];
  for (const n of names) {
    const p = join(dir, n);
    if (!existsSync(p)) throw new Error(`kdgpu: CIFAR-10 file ${p} does not exist`);
    parts.push(parseCifar10(new Uint8Array(readFileSync(p)), p));
  }
  return concatDatasets(parts);
}

/** Fashion-MNIST as a dataset of [1, 28, 28] images. */
export function fashionMnistDataset(split: 'train' | 'test', dir?: string): ArrayDataset {
  return fromImageSet(loadFashionMnist(split, dir));
}
