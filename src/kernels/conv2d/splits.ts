/**
 * Split reductions of the gradient kernels: the weight and bias gradients sum over every output
 * pixel of the batch, so they run split over rows (n·OH + oh) into partial sums (parallelism for
 * layers with few weights, shorter f32 sums), and one more kernel adds the splits up.
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Engine } from '../../gpu/engine.js';
import { dispatch1d, kernel, head1d } from '../../gpu/kernel-registry.js';
import { runElementwise } from '../elementwise.js';
import { KERNELS } from '../elementwise-ops.js';
import type { ConvGeometry } from './geometry.js';

/** Most partial sums a split reduction may hold (floats): 64 MB. */
const MAX_PARTIAL = 16 * 1024 * 1024;

/**
 * Rows (n·OH + oh) per split: about `splitPixels` output pixels each, at least one row, and no
 * more splits than `len` outputs per split can hold within MAX_PARTIAL.
 */
export function splitRows(g: ConvGeometry, splitPixels: number, len: number): { rowsPer: number; splits: number; rows: number } {
  const rows = g.N * g.OH;
  const wanted = Math.max(1, Math.ceil((rows * g.OW) / splitPixels));
  const splits = Math.max(1, Math.min(wanted, rows, Math.floor(MAX_PARTIAL / Math.max(len, 1))));
  const rowsPer = Math.max(1, Math.ceil(rows / splits));
  return { rowsPer, splits: Math.max(1, Math.ceil(rows / rowsPer)), rows };
}

const REDUCE_SRC = () => `
struct Params { len: u32, splits: u32, accumulate: u32, }
${head1d('i', 'p.len', ['part', 'read', 'array<f32>'], ['out', 'read_write', 'array<f32>'])}
  var s = 0.0;
  for (var k = 0u; k < p.splits; k++) { s += part[k * p.len + i]; }
  out[i] = select(0.0, out[i], p.accumulate == 1u) + s;
}`;

/**
 * out[i] = Σ_k part[k·len + i] over `splits` partial results: a new buffer of `len` floats, or,
 * with `into`, added to what `into` holds (and `into` returned).
 */
export function reduceSplits(engine: Engine, part: PooledBuffer, len: number, splits: number, into?: PooledBuffer): PooledBuffer {
  const out = into ?? engine.pool.acquire(Math.max(len, 1) * 4);
  if (len === 0) return out;
  dispatch1d(engine, kernel('conv2d.reduceSplits', REDUCE_SRC), { part, out }, { len, splits, accumulate: into ? 1 : 0 }, len);
  return out;
}

/** The result of a gradient with nothing to sum (an empty batch or output): `len` zeros. */
export function zeros(engine: Engine, len: number): PooledBuffer {
  return runElementwise(engine, KERNELS.fill, [], [len], 0);
}
