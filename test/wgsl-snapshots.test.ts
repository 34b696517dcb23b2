/**
 * The generated WGSL of a few representative kernels, committed in test/wgsl-snapshots/ so that a
 * reviewer can read what runs and see what a change to a generator does to it. The test fails
 * when a generator's output differs from its snapshot; KDGPU_UPDATE_SNAPSHOTS=1 rewrites them.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import type { Kernel } from '../src/gpu/engine.js';
import { convTiles, groupedConvTiles, runConv2d, runGroupedConv2d } from '../src/kernels/conv2d/index.js';
import { runMatmul, SHARED_32, TILE_SMALL } from '../src/kernels/matmul.js';
import { setup } from './helpers.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'wgsl-snapshots');
const UPDATE = process.env.KDGPU_UPDATE_SNAPSHOTS === '1';

/** The kernels `fn` dispatches (whether or not the engine had compiled them before). */
function dispatched(e: kd.Engine, fn: () => void): Kernel[] {
  const seen: Kernel[] = [];
  const original = e.dispatch;
  e.dispatch = function (this: kd.Engine, k: Kernel, ...rest: unknown[]) {
    seen.push(k);
    return (original as (...a: unknown[]) => void).call(this, k, ...rest);
  } as typeof e.dispatch;
  try {
    kd.tidy(fn);
  } finally {
    e.dispatch = original;
  }
  return seen;
}

function pick(kernels: Kernel[], prefix: string): Kernel {
  const k = kernels.find((x) => x.name.startsWith(prefix));
  if (!k) throw new Error(`no kernel named ${prefix}… among ${kernels.map((x) => x.name).join(', ')}`);
  return k;
}

describe('generated WGSL snapshots (test/wgsl-snapshots/, KDGPU_UPDATE_SNAPSHOTS=1 rewrites them)', () => {
  let e: kd.Engine;
  before(async () => {
    e = await setup();
  });

  // [file, kernel name prefix, how the generator names things, what dispatches it]
  const cases: [string, string, string, (e: kd.Engine) => void][] = [
    [
      'conv2d-dense-3x3',
      'conv2d.fwd.k3x3',
      'TP output pixels × TO channels per invocation: a{pixel}_{channel vec4} accumulators; x{e} the input row segment; w{kw}_{q} weight vec4s; cm/rm column/row masks, co/ro offsets, m{kh}_{e} their products',
      (e) => {
        const x = kd.randn([2, 3, 8, 8], { seed: 1 });
        const w = kd.randn([8, 3, 3, 3], { seed: 2 });
        const b = kd.randn([8], { seed: 3 });
        const g = kd.planConv2d(x.shape, w.shape, b.shape, { padding: 1 });
        e.pool.release(runConv2d(e, x.bufferFor('test'), w.bufferFor('test'), g, { bias: b.bufferFor('test'), activation: 'relu' }, { ...convTiles, subgroups: false }));
      },
    ],
    [
      'conv2d-depthwise-3x3',
      'conv2d.grouped.fwd',
      'TR rows × TP pixels × TO channels per invocation: a{row}_{pixel}_{channel} accumulators; w{channel}_{kh}_{kw} weights; x{e} one input row segment; rm/cm masks, ro/co offsets',
      (e) => {
        const x = kd.randn([2, 4, 8, 8], { seed: 1 });
        const w = kd.randn([4, 1, 3, 3], { seed: 2 });
        const g = kd.planConv2d(x.shape, w.shape, null, { padding: 1, groups: 4 });
        e.pool.release(runGroupedConv2d(e, x.bufferFor('test'), w.bufferFor('test'), g, { activation: 'relu6' }, groupedConvTiles));
      },
    ],
    [
      'matmul-8x8-tile',
      'matmul.',
      'TM×4·TN4 block of C per invocation: c{row}_{vec4 column} accumulators; a{row} vec4s of op(A); m{j} 4×4 blocks of op(B) as mat4x4',
      (e) => {
        const a = kd.randn([16, 32], { seed: 1 });
        const b = kd.randn([32, 16], { seed: 2 });
        const args = { M: 16, N: 16, K: 32, transA: false, transB: false, batchShape: [], aBatchStrides: [], bBatchStrides: [] };
        e.pool.release(runMatmul(e, a.bufferFor('test'), b.bufferFor('test'), args, {}, { kind: 'tiled', tile: TILE_SMALL }));
      },
    ],
    [
      'matmul-shared-32x32',
      'matmul.shared.',
      'workgroup-shared tile (GPUs): As/Bs the k-major op(A)/op(B) tiles in workgroup memory; c{row}_{vec4 column} accumulators; a{k}_{r}/b{k}_{j} vec4s read from the tiles',
      (e) => {
        const a = kd.randn([16, 32], { seed: 1 });
        const b = kd.randn([32, 16], { seed: 2 });
        const args = { M: 16, N: 16, K: 32, transA: false, transB: false, batchShape: [], aBatchStrides: [], bBatchStrides: [] };
        e.pool.release(runMatmul(e, a.bufferFor('test'), b.bufferFor('test'), args, {}, { kind: 'shared', tile: SHARED_32 }));
      },
    ],
    ['elementwise-sigmoid', 'elementwise.sigmoid.', 'declared in elementwise-ops.ts; vec4 per invocation; kd_* the accurate math of wgsl-math.ts', () => kd.sigmoid(kd.randn([8, 8], { seed: 1 }))],
  ];

  for (const [file, prefix, legend, run] of cases) {
    it(file, () => {
      const k = pick(dispatched(e, () => run(e)), prefix);
      const path = join(DIR, `${file}.wgsl`);
      const text = `// ${k.name} (generated; test/wgsl-snapshots.test.ts)\n// ${legend}\n${k.source.replace(/^\n/, '')}\n`;
      if (UPDATE) {
        mkdirSync(DIR, { recursive: true });
        writeFileSync(path, text);
        return;
      }
      expect(existsSync(path), `${path} is missing; run the test with KDGPU_UPDATE_SNAPSHOTS=1 to write it`).to.equal(true);
      expect(text, `${file}.wgsl differs from the generated WGSL; if the change is intended, run with KDGPU_UPDATE_SNAPSHOTS=1`).to.equal(readFileSync(path, 'utf8'));
    });
  }
});
