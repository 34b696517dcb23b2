/**
 * In-memory datasets (samples × features plus int32 labels), splits, normalization, and a loader
 * that keeps the whole set on the GPU when it fits: an epoch uploads one shuffled index, and each
 * batch is one gather dispatch — no host copies inside the training step.
 */
import { tensor } from '../autograd/creation.js';
import { Random } from '../autograd/random.js';
import { fromBuffer, type Tensor } from '../autograd/tensor.js';
import { keep } from '../autograd/scope.js';
import { engine as currentEngine } from '../gpu/context.js';
import type { Engine } from '../gpu/engine.js';
import { runGatherRows } from '../kernels/gather.js';

/** A dataset held in host memory: float32 samples and int32 labels. */
export interface ArrayDataset {
  /** count × prod(sampleShape) values, sample-major. */
  x: Float32Array;
  /** count labels. */
  y: Int32Array;
  /** Shape of one sample, e.g. [1, 28, 28] (CHW) or [784]. */
  sampleShape: number[];
  /** Number of samples. */
  count: number;
  /** Number of classes, when known. */
  classes?: number;
}

/** Values per sample: the product of `sampleShape`. */
export function sampleSize(d: ArrayDataset): number {
  return d.sampleShape.reduce((p, v) => p * v, 1);
}

/** Throws (naming `what`) unless `x` and `y` have the lengths `count` and `sampleShape` imply. */
export function checkDataset(d: ArrayDataset, what = 'dataset'): void {
  const n = sampleSize(d);
  if (d.x.length !== d.count * n) throw new Error(`kdgpu: ${what}: ${d.x.length} values for ${d.count} samples of shape [${d.sampleShape.join(', ')}]`);
  if (d.y.length !== d.count) throw new Error(`kdgpu: ${what}: ${d.y.length} labels for ${d.count} samples`);
}

/**
 * Checks, before any training, that the splits of one dataset fit together: every split has the
 * first one's sample shape and labels in [0, classes), and finite values. Errors name the dataset
 * and the split, so a bad test split is found before training rather than after it.
 */
export function checkSplits(splits: readonly (readonly [string, ArrayDataset | undefined])[], classes: number, datasetName: string): void {
  const first = splits.find(([, d]) => d !== undefined)?.[1];
  for (const [split, d] of splits) {
    if (!d) continue;
    const what = `${datasetName} (${split})`;
    checkDataset(d, what);
    if (first && d.sampleShape.join() !== first.sampleShape.join()) {
      throw new Error(`kdgpu: ${what} has samples of shape [${d.sampleShape.join(', ')}], the other splits [${first.sampleShape.join(', ')}]`);
    }
    for (let i = 0; i < d.count; i++) {
      const y = d.y[i];
      if (!(y >= 0 && y < classes)) throw new Error(`kdgpu: ${what}: sample ${i} has label ${y}, expected 0…${classes - 1} (${classes} classes)`);
    }
    for (let i = 0; i < d.x.length; i++) {
      if (!Number.isFinite(d.x[i])) throw new Error(`kdgpu: ${what}: sample ${Math.floor(i / (d.x.length / d.count))} holds a non-finite value (${d.x[i]})`);
    }
  }
}

/** Samples start…start+count−1 (copies). */
export function take(d: ArrayDataset, start: number, count: number): ArrayDataset {
  if (start < 0 || count < 0 || start + count > d.count) {
    throw new Error(`kdgpu: take: range [${start}, ${start + count}) is outside the dataset's ${d.count} samples`);
  }
  const n = sampleSize(d);
  return { ...d, x: d.x.slice(start * n, (start + count) * n), y: d.y.slice(start, start + count), count };
}

/** Samples picked by `indices`, in that order. */
export function select(d: ArrayDataset, indices: ArrayLike<number>): ArrayDataset {
  const n = sampleSize(d);
  const x = new Float32Array(indices.length * n);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!(j >= 0 && j < d.count)) throw new Error(`kdgpu: select: index ${j} is outside the dataset's ${d.count} samples`);
    x.set(d.x.subarray(j * n, (j + 1) * n), i * n);
    y[i] = d.y[j];
  }
  return { ...d, x, y, count: indices.length };
}

/** A seeded random split into train and validation sets (`validation` a fraction or a count). */
export function trainValSplit(
  d: ArrayDataset,
  validation: number,
  seed = 0,
): {
  /** The remaining samples. */
  train: ArrayDataset;
  /** The validation samples. */
  val: ArrayDataset;
} {
  const nVal = validation < 1 ? Math.round(d.count * validation) : validation;
  if (!(nVal >= 0 && nVal <= d.count)) throw new Error(`kdgpu: trainValSplit: cannot take ${validation} validation samples from ${d.count}`);
  const perm = new Random(seed).permutation(d.count);
  return { train: select(d, perm.subarray(nVal)), val: select(d, perm.subarray(0, nVal)) };
}

/** Per-channel mean and standard deviation of a CHW dataset. */
export function channelStats(d: ArrayDataset): {
  /** Mean of each channel. */
  mean: number[];
  /** Population (biased) standard deviation of each channel. */
  std: number[];
} {
  const [c, ...rest] = d.sampleShape.length >= 2 ? d.sampleShape : [1, sampleSize(d)];
  const hw = rest.reduce((p, v) => p * v, 1);
  const sum = new Float64Array(c);
  const sq = new Float64Array(c);
  const n = c * hw;
  for (let s = 0; s < d.count; s++) {
    for (let ch = 0; ch < c; ch++) {
      const base = s * n + ch * hw;
      for (let i = 0; i < hw; i++) {
        const v = d.x[base + i];
        sum[ch] += v;
        sq[ch] += v * v;
      }
    }
  }
  const m = d.count * hw;
  const mean = Array.from(sum, (v) => v / m);
  return { mean, std: Array.from(sq, (v, ch) => Math.sqrt(Math.max(v / m - mean[ch] ** 2, 0))) };
}

/** (x − mean[c]) / std[c] per channel of a CHW dataset (a new dataset). */
export function normalize(d: ArrayDataset, mean: readonly number[], std: readonly number[]): ArrayDataset {
  const [c, ...rest] = d.sampleShape.length >= 2 ? d.sampleShape : [1, sampleSize(d)];
  if (mean.length !== c || std.length !== c) throw new Error(`kdgpu: normalize: ${mean.length} means and ${std.length} stds for ${c} channels`);
  if (std.some((s) => !(s > 0))) throw new Error(`kdgpu: normalize: standard deviations must be > 0, got [${std.join(', ')}]`);
  const hw = rest.reduce((p, v) => p * v, 1);
  const x = new Float32Array(d.x.length);
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / hw) % c;
    x[i] = (d.x[i] - mean[ch]) / std[ch];
  }
  return { ...d, x };
}

/** Options of `GpuLoader`. */
export interface LoaderOptions {
  /** Samples per batch (the last batch may be smaller unless `dropLast`). */
  batchSize: number;
  /** Draw a new random order every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Drop the last incomplete batch (PyTorch's drop_last). */
  dropLast?: boolean;
  /** Seed of the shuffling generator (default 0). */
  seed?: number;
  /**
   * Most bytes of samples per GPU buffer (default: what the adapter binds at once); a larger set
   * is kept in several shards, and each batch is gathered from all of them.
   */
  shardBytes?: number;
}

/** One batch from `GpuLoader.epoch()`. */
export interface Batch {
  /** Samples [batch, ...sampleShape], float32 on the GPU. */
  x: Tensor;
  /** Labels [batch], int32 on the GPU. */
  y: Tensor;
  /** Position of the batch in the epoch. */
  index: number;
  /**
   * Rows of a per-sample tensor ([count, …], row i belonging to sample i of the dataset) in this
   * batch's order — e.g. cached teacher logits. One gather dispatch; the result is a new tensor.
   */
  gather(perSample: Tensor): Tensor;
}

/**
 * Batches of a dataset kept on the GPU. Each batch's x and y are fresh tensors (dispose them, or
 * make them inside `tidy`). The shuffle generator's state is part of `getState()` so a resumed
 * run sees the same batches.
 */
export class GpuLoader {
  /**
   * The dataset's samples on the GPU in shards of consecutive rows, [rows, ...sampleShape] each:
   * one shard unless the set is larger than the adapter binds at once (llvmpipe: 128 MiB).
   */
  readonly xShards: readonly Tensor[];
  /** Rows per shard of `xShards` (the last shard may hold fewer). */
  readonly rowsPerShard: number;
  /** The whole dataset's labels on the GPU, [count] int32. */
  readonly y: Tensor;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch draws a new random order. */
  readonly shuffle: boolean;
  /** Whether the last incomplete batch is dropped. */
  readonly dropLast: boolean;
  private rng: Random;
  private rowWords: number;

  constructor(
    /** The host-side dataset (uploaded once by the constructor). */
    readonly data: ArrayDataset,
    opts: LoaderOptions,
  ) {
    checkDataset(data);
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1)) throw new Error(`kdgpu: loader: batchSize must be a positive integer, got ${opts.batchSize}`);
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.rng = new Random(opts.seed ?? 0);
    this.rowWords = sampleSize(data);
    const e = currentEngine();
    const bindable = Math.min(e.limits.maxStorageBufferBindingSize, e.limits.maxBufferSize);
    if (opts.shardBytes !== undefined && !(Number.isInteger(opts.shardBytes) && opts.shardBytes > 0)) {
      throw new Error(`kdgpu: loader: shardBytes must be a positive integer, got ${opts.shardBytes}`);
    }
    const limit = Math.min(bindable, opts.shardBytes ?? bindable);
    const rowBytes = this.rowWords * 4;
    if (rowBytes > limit) {
      throw new Error(`kdgpu: loader: one sample needs ${rowBytes} bytes on the GPU, the adapter binds at most ${limit}`);
    }
    if (data.count * 4 > bindable) {
      throw new Error(`kdgpu: loader: ${data.count} labels need ${data.count * 4} bytes on the GPU, the adapter binds at most ${bindable}; use a subset`);
    }
    this.rowsPerShard = Math.max(1, Math.min(data.count, Math.floor(limit / rowBytes)));
    const shards: Tensor[] = [];
    for (let lo = 0; lo < data.count || shards.length === 0; lo += this.rowsPerShard) {
      const rows = Math.min(this.rowsPerShard, data.count - lo);
      const part = data.x.subarray(lo * this.rowWords, (lo + rows) * this.rowWords);
      shards.push(keep(tensor(part, [rows, ...data.sampleShape])));
    }
    this.xShards = shards;
    this.y = keep(tensor(data.y, [data.count], { dtype: 'int32' }));
  }

  /** The whole dataset's samples, [count, ...sampleShape], when they fit one binding (one shard). */
  get x(): Tensor {
    if (this.xShards.length !== 1) {
      throw new Error(`kdgpu: loader: the dataset is kept in ${this.xShards.length} shards (larger than one GPU binding); use xShards`);
    }
    return this.xShards[0];
  }

  /** The engine that holds the dataset. */
  get engine(): Engine {
    return this.y.engine;
  }

  /** Number of batches per epoch. */
  get length(): number {
    return this.dropLast ? Math.floor(this.data.count / this.batchSize) : Math.ceil(this.data.count / this.batchSize);
  }

  /** The shuffle generator's state (for checkpoints). */
  getState(): number[] {
    return this.rng.getState();
  }

  /** Restores a state from `getState()`, so the following epochs shuffle as they would have. */
  setState(s: readonly number[]): void {
    this.rng.setState(s);
  }

  /**
   * One epoch of batches (draws the next shuffle). `fromBatch` skips the epoch's first batches (to
   * resume mid-epoch: restore the state `getState()` gave before the epoch, then start there).
   */
  *epoch(fromBatch = 0): Generator<Batch> {
    if (!(Number.isInteger(fromBatch) && fromBatch >= 0 && fromBatch <= this.length)) {
      throw new Error(`kdgpu: loader: fromBatch must be an integer from 0 to ${this.length}, got ${fromBatch}`);
    }
    const n = this.data.count;
    const order = this.shuffle ? this.rng.permutation(n) : Int32Array.from({ length: n }, (_, i) => i);
    const index = keep(tensor(order, [n], { dtype: 'int32' }));
    const e = this.engine;
    try {
      for (let b = fromBatch; b < this.length; b++) {
        const start = b * this.batchSize;
        const count = Math.min(this.batchSize, n - start);
        const xb = e.pool.acquire(count * this.rowWords * 4);
        const yb = e.pool.acquire(count * 4);
        this.xShards.forEach((shard, k) => {
          const lo = k * this.rowsPerShard;
          runGatherRows(e, shard.bufferFor('loader'), index.bufferFor('loader'), xb, start, count, this.rowWords, lo, lo + shard.shape[0]);
        });
        runGatherRows(e, this.y.bufferFor('loader'), index.bufferFor('loader'), yb, start, count, 1);
        const gather = (t: Tensor): Tensor => {
          if (t.rank < 1 || t.shape[0] !== n) {
            throw new Error(`kdgpu: loader: gather needs a per-sample tensor with ${n} rows (one per dataset sample), got shape [${t.shape.join(', ')}]`);
          }
          const words = t.size / n;
          const out = e.pool.acquire(Math.max(count * words, 1) * 4);
          runGatherRows(e, t.bufferFor('loader.gather'), index.bufferFor('loader.gather'), out, start, count, words);
          return fromBuffer(e, out, [count, ...t.shape.slice(1)], t.dtype);
        };
        yield {
          x: fromBuffer(e, xb, [count, ...this.data.sampleShape], 'float32'),
          y: fromBuffer(e, yb, [count], 'int32'),
          index: b,
          gather,
        };
      }
    } finally {
      index.dispose();
    }
  }

  /** Frees the dataset's GPU copies. */
  dispose(): void {
    for (const t of this.xShards) t.dispose();
    this.y.dispose();
  }
}
