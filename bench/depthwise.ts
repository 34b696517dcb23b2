/**
 * Depthwise convolution benchmark: MobileNetV2's depthwise 3×3 layers (bias + ReLU6 fused), per
 * kernel — forward, gradient w.r.t. the input, gradient w.r.t. the weight — and forward+backward
 * through conv2d's tape, with PyTorch on the CPU beside it (bench/depthwise_torch.py, run once).
 *
 *   npx tsx bench/depthwise.ts [--batch 1] [--size 224] [--reps 5] [--layers dw32_s1,dw96_s2]
 *                              [--tiles '{"TR":4,"TP":8}'] [--no-torch]
 *
 * --size is the network's input resolution (224 for ImageNet; each layer's map is size/2^k, at
 * least 1). Every timing runs to completion on the device (engine.sync()); medians of --reps
 * repetitions after one warm-up (which also compiles the kernels).
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { runConv2dGradBias } from '../src/kernels/conv2d/index.js';
import { groupedConvFlops, groupedConvTiles, runGroupedConv2d, runGroupedConv2dGradInput, runGroupedConv2dGradWeight } from '../src/kernels/conv2d/index.js';
import type { PooledBuffer } from '../src/gpu/buffer-pool.js';
import { median, randArray } from './lib/timing.js';
import { PYTHON } from './lib/torch-server.js';

const argv = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const BATCH = Number(opt('batch', '1'));
const SIZE = Number(opt('size', '224'));
const REPS = Number(opt('reps', '5'));
const TILES = { ...groupedConvTiles, ...(JSON.parse(opt('tiles', '{}')) as Partial<typeof groupedConvTiles>) };
const USE_TORCH = !argv.includes('--no-torch');

/** MobileNetV2's depthwise layers: channels, input map = size / 2^shift, stride. */
const ALL = [
  { name: 'dw32_s1', C: 32, shift: 1, stride: 1 },
  { name: 'dw96_s2', C: 96, shift: 1, stride: 2 },
  { name: 'dw144_s1', C: 144, shift: 2, stride: 1 },
  { name: 'dw144_s2', C: 144, shift: 2, stride: 2 },
  { name: 'dw192_s1', C: 192, shift: 3, stride: 1 },
  { name: 'dw192_s2', C: 192, shift: 3, stride: 2 },
  { name: 'dw384_s1', C: 384, shift: 4, stride: 1 },
  { name: 'dw576_s1', C: 576, shift: 4, stride: 1 },
  { name: 'dw576_s2', C: 576, shift: 4, stride: 2 },
  { name: 'dw960_s1', C: 960, shift: 5, stride: 1 },
];
const wanted = opt('layers', ALL.map((l) => l.name).join(',')).split(',');
const layers = ALL.filter((l) => wanted.includes(l.name)).map((l) => {
  const S = Math.max(1, Math.ceil(SIZE / 2 ** l.shift));
  return { ...l, x: [BATCH, l.C, S, S], w: [l.C, 1, 3, 3] };
});

const here = dirname(fileURLToPath(import.meta.url));
const engine = await kd.init();

async function time(fn: () => void): Promise<number> {
  const t: number[] = [];
  for (let r = 0; r <= REPS; r++) {
    const t0 = performance.now();
    fn();
    await engine.sync();
    if (r > 0) t.push(performance.now() - t0);
  }
  return median(t);
}

let torch: Record<string, { fwd_ms: number; fwdbwd_ms: number }> = {};
if (USE_TORCH) {
  const spec = layers.map((l) => ({ name: l.name, x: l.x, w: l.w, stride: l.stride, padding: 1, groups: l.C }));
  const out = execFileSync(PYTHON, [join(here, 'depthwise_torch.py'), JSON.stringify(spec), String(REPS)], { encoding: 'utf8' });
  torch = JSON.parse(out) as typeof torch;
  const info = torch as unknown as { torch: string; threads: number };
  console.log(`PyTorch ${info.torch} on the CPU, ${info.threads} threads`);
}

console.log(`kdgpu on ${engine.adapter.description || engine.adapter.architecture}; batch ${BATCH}, input ${SIZE}×${SIZE}, tiles ${JSON.stringify(TILES)}`);
const head = ['layer', 'x', 'fwd ms', 'GFLOP/s', '∂x ms', '∂w ms', '∂b ms', 'fwd+bwd ms', 'torch fwd', 'torch fwd+bwd'];
console.log(head.join('\t'));
for (const l of layers) {
  const opts: kd.Conv2dOptions = { stride: l.stride, padding: 1, groups: l.C, relu6: true };
  const g = kd.planConv2d(l.x, l.w, [l.C], opts);
  const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const x = kd.tensor(randArray(n(l.x), 1), l.x, { requiresGrad: true });
  const w = kd.tensor(randArray(n(l.w), 2, 0.3), l.w, { requiresGrad: true });
  const b = kd.tensor(randArray(l.C, 3, 0.1), [l.C], { requiresGrad: true });
  const dy = kd.tensor(randArray(n(g.outShape), 4), g.outShape);
  const [xb, wb, bb, dyb] = [x, w, b, dy].map((t) => t.bufferFor('bench'));
  const once = (f: () => PooledBuffer) => () => engine.pool.release(f());
  const fwd = await time(once(() => runGroupedConv2d(engine, xb, wb, g, { bias: bb, activation: 'relu6' }, TILES)));
  const dx = await time(once(() => runGroupedConv2dGradInput(engine, dyb, wb, g, TILES)));
  const dw = await time(once(() => runGroupedConv2dGradWeight(engine, xb, dyb, g, TILES)));
  const db = await time(once(() => runConv2dGradBias(engine, dyb, g)));
  const both = await time(() =>
    kd.tidy(() => {
      kd.conv2d(x, w, b, opts).backward(dy);
      for (const t of [x, w, b]) t.zeroGrad();
    }),
  );
  const gflops = groupedConvFlops(g) / (fwd * 1e6);
  const t = torch[l.name];
  const f = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
  console.log([l.name, l.x.join('×'), f(fwd), gflops.toFixed(2), f(dx), f(dw), f(db), f(both), f(t?.fwd_ms), f(t?.fwdbwd_ms)].join('\t'));
  for (const tt of [x, w, b, dy]) tt.dispose();
}
