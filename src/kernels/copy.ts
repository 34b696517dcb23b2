/**
 * Strided copy of 32-bit words: for every coordinate c of `shape`,
 *   dst[dstOffset + Σ c·dstStrides] = src[srcOffset + Σ c·srcStrides].
 * One kernel serves permute (permuted source strides), slice (offset source), concat (offset
 * destination), broadcastTo (zero source strides) and their gradients. Dtype-agnostic (u32).
 */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine } from '../gpu/engine.js';
import { dispatch1d, kernel, head1d } from '../gpu/kernel-registry.js';

function source(rank: number): string {
  return `
struct Params { n: u32, srcOffset: u32, dstOffset: u32,
  shape: array<vec4<u32>, 2>, srcStr: array<vec4<u32>, 2>, dstStr: array<vec4<u32>, 2>, }
${head1d('i', 'p.n', ['src', 'read', 'array<u32>'], ['dst', 'read_write', 'array<u32>'])}
  var rem = i;
  var s = p.srcOffset;
  var d = p.dstOffset;
${unrolled(rank)}
  dst[d] = src[s];
}`;
}

/** The index arithmetic for each dimension, innermost first, with constant uniform indices. */
function unrolled(rank: number): string {
  const lines: string[] = [];
  for (let k = rank - 1; k >= 0; k--) {
    const at = `[${k >> 2}][${k & 3}]`;
    lines.push(`  { let e = p.shape${at}; let c = rem % e; rem = rem / e; s += c * p.srcStr${at}; d += c * p.dstStr${at}; }`);
  }
  return lines.join('\n');
}

export interface StridedView {
  offset: number;
  strides: readonly number[];
}

/** Copies `shape`'s elements from `src` (read through srcView) into `dst` (written through dstView). */
export function runStridedCopy(
  engine: Engine,
  src: PooledBuffer,
  srcView: StridedView,
  dst: PooledBuffer,
  dstView: StridedView,
  shape: readonly number[],
): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (n === 0) return;
  // Merge neighbouring dims that are contiguous in both views: fewer index steps per element.
  const dims: { e: number; s: number; d: number }[] = [];
  for (let k = 0; k < shape.length; k++) {
    if (shape[k] === 1) continue;
    const cur = { e: shape[k], s: srcView.strides[k], d: dstView.strides[k] };
    const prev = dims[dims.length - 1];
    if (prev && prev.s === cur.s * cur.e && prev.d === cur.d * cur.e) {
      prev.e *= cur.e;
      prev.s = cur.s;
      prev.d = cur.d;
    } else dims.push(cur);
  }
  if (dims.length === 0) dims.push({ e: 1, s: 0, d: 0 });
  const rank = dims.length;
  const k = kernel(`copy.strided${rank}`, () => source(rank));
  dispatch1d(
    engine,
    k,
    { src, dst },
    {
      n,
      srcOffset: srcView.offset,
      dstOffset: dstView.offset,
      shape: dims.map((x) => x.e),
      srcStr: dims.map((x) => x.s),
      dstStr: dims.map((x) => x.d),
    },
    n,
  );
}
