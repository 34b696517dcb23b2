/**
 * Gradient of a convolution w.r.t. its bias, db = ∂L/∂bias: [O], the per-channel sums of dy,
 * split over rows (splits.ts). The same for dense and grouped convolutions.
 */
import type { PooledBuffer } from '../../gpu/buffer-pool.js';
import type { Engine } from '../../gpu/engine.js';
import { dispatch1d, kernel, head1d, digit } from '../../gpu/kernel-registry.js';
import { convTiles, type ConvGeometry } from './geometry.js';
import { reduceSplits, splitRows, zeros } from './splits.js';

const BIAS_SRC = () => `
struct Params { O: u32, OHW: u32, OW: u32, rowsPer: u32, rows: u32, OH: u32, total: u32, }
${head1d('t', 'p.total', ['dy', 'read', 'array<f32>'], ['part', 'read_write', 'array<f32>'])}
${digit('t', 'p.O', 'o', 'split')}
  let r0 = split * p.rowsPer;
  let r1 = min(r0 + p.rowsPer, p.rows);
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  for (var r = r0; r < r1; r++) {
    let oh = r % p.OH;
    let n = r / p.OH;
    let b = (n * p.O + o) * p.OHW + oh * p.OW;
    var i = 0u;
    for (; i + 4u <= p.OW; i += 4u) {
      s0 += dy[b + i]; s1 += dy[b + i + 1u]; s2 += dy[b + i + 2u]; s3 += dy[b + i + 3u];
    }
    for (; i < p.OW; i++) { s0 += dy[b + i]; }
  }
  part[split * p.O + o] = (s0 + s1) + (s2 + s3);
}`;

/** db = ∂L/∂bias: [O], the per-channel sums of dy. */
export function runConv2dGradBias(engine: Engine, dy: PooledBuffer, g: ConvGeometry, tiles = convTiles): PooledBuffer {
  const { rowsPer, splits, rows } = splitRows(g, tiles.splitPixels, g.O);
  if (rows * g.OW === 0) return zeros(engine, g.O);
  const total = splits * g.O;
  const part = engine.pool.acquire(total * 4);
  dispatch1d(
    engine,
    kernel('conv2d.gradBias', BIAS_SRC),
    { dy, part },
    { O: g.O, OHW: g.OH * g.OW, OW: g.OW, rowsPer, rows, OH: g.OH, total },
    total,
  );
  const out = reduceSplits(engine, part, g.O, splits);
  engine.pool.release(part);
  return out;
}
