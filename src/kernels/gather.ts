/**
 * Row gather: dst[b, :] = src[index[start + b], :] for b < count, over 32-bit words (so it serves
 * float32 images and int32 labels alike). A shuffled epoch uploads its index once; every batch is
 * then one dispatch with a different `start`, and no host copy. A source larger than one binding
 * is kept in shards of rows: each shard's dispatch writes the rows whose index falls in its range
 * [lo, hi), so the shards together fill every row.
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { dispatch1d, head1d } from '../gpu/kernel-registry.js';

export const GATHER_ROWS: Kernel = {
  name: 'gather.rows',
  source: `
struct Params { count: u32, rowWords: u32, start: u32, lo: u32, hi: u32, }
${head1d('i', 'p.count * p.rowWords', ['src', 'read', 'array<u32>'], ['index', 'read', 'array<u32>'], ['dst', 'read_write', 'array<u32>'])}
  let b = i / p.rowWords;
  let w = i - b * p.rowWords;
  let row = index[p.start + b];
  if (row < p.lo || row >= p.hi) { return; }
  dst[i] = src[(row - p.lo) * p.rowWords + w];
}`,
};

/**
 * Gathers `count` rows of `rowWords` words, picked by index[start…start+count). `src` holds rows
 * [lo, hi) of the whole source (default: all of it); rows outside that range are left unwritten.
 */
export function runGatherRows(
  engine: Engine,
  src: PooledBuffer,
  index: PooledBuffer,
  dst: PooledBuffer,
  start: number,
  count: number,
  rowWords: number,
  lo = 0,
  hi = 0xffffffff,
): void {
  const n = count * rowWords;
  if (n === 0) return;
  dispatch1d(engine, GATHER_ROWS, { src, index, dst }, { count, rowWords, start, lo, hi }, n);
}
