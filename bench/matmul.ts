/**
 * Square float32 matmul GFLOP/s: kdgpu, TensorFlow.js's WebGPU backend on kdgpu's own GPUDevice,
 * and the adapter's vec4 FMA ceiling (bench/fma-ceiling.ts), all in one process.
 *
 *   npx tsx bench/matmul.ts [--sizes 256,512,1024,2048] [--reps 5] [--tf-budget 240] [--no-tf]
 *
 * For each size: one warm-up run of each (compiling pipelines), then --reps repetitions, each
 * running kdgpu, tfjs and the ceiling in turn; every figure is the median over the repetitions.
 * Every run is timed to completion on the device (kdgpu: engine.sync(); tfjs: submit +
 * queue.onSubmittedWorkDone(); the ceiling like kdgpu). Besides wall-clock GFLOP/s the JSON keeps
 * GFLOP per CPU-second of this process (all threads), which is what a CPU adapter such as
 * SwiftShader spends and is less disturbed by other load on the machine.
 *
 * tfjs is slow on SwiftShader: sizes up to 1024 always run; a larger one runs only if its
 * estimated time (from the previous size, ×8 per doubling) fits in --tf-budget seconds, else it is
 * reported as skipped. Results go to bench/results/matmul-<adapter>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import * as kd from '../src/index.js';
import { operandModes, planMatmul } from '../src/kernels/matmul.js';
import { calibrate, makeCeiling, SIMPLE_LOOP, type Ceiling, type CeilingShape } from './fma-ceiling.js';

// ---- options ----------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const SIZES = opt('sizes', '256,512,1024,2048').split(',').map(Number);
const REPS = Math.max(1, Number(opt('reps', '5')));
const TF_BUDGET_MS = Number(opt('tf-budget', '240')) * 1000;
const TF_ALWAYS_UP_TO = 1024;
const USE_TF = !argv.includes('--no-tf');
for (const s of SIZES) if (!Number.isInteger(s) || s < 1) throw new Error(`bad --sizes entry ${s}`);

const here = dirname(fileURLToPath(import.meta.url));
const engine = await kd.init();
const adapterName = (engine.adapter.architecture || engine.adapter.description || 'unknown').replace(/[^a-z0-9]+/gi, '-').toLowerCase();

// ---- timing -----------------------------------------------------------------------------------

interface Sample {
  wallMs: number;
  cpuMs: number;
}

async function timed(fn: () => Promise<void>): Promise<Sample> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1e3 };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Figure {
  /** Median wall-clock GFLOP/s. */
  gflops: number;
  /** Median GFLOP per CPU-second of this process. */
  gflopsPerCpuS: number;
  wallMs: number[];
  cpuMs: number[];
}

function figure(flops: number, samples: Sample[]): Figure {
  return {
    gflops: median(samples.map((s) => flops / (s.wallMs * 1e6))),
    gflopsPerCpuS: median(samples.map((s) => flops / (s.cpuMs * 1e6))),
    wallMs: samples.map((s) => +s.wallMs.toFixed(2)),
    cpuMs: samples.map((s) => +s.cpuMs.toFixed(2)),
  };
}

function randArray(n: number, seed: number): Float32Array {
  const r = new kd.Random(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r.next() * 2 - 1;
  return a;
}

// ---- TensorFlow.js on the same device ----------------------------------------------------------

let tfBackend: WebGPUBackend | null = null;
async function tfInit(): Promise<void> {
  // The backend only checks that navigator.gpu exists; it then uses the device it is given.
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  if (!g.navigator!.gpu) g.navigator!.gpu = {};
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  tfBackend = new WebGPUBackend(engine.device);
  tf.registerBackend('webgpu', () => tfBackend!);
  await tf.setBackend('webgpu');
  await tf.ready();
}

async function tfSync(): Promise<void> {
  const b = tfBackend as unknown as { endComputePassEncoder(): void; commandEncoder: unknown; submitQueue(): void };
  b.endComputePassEncoder();
  if (b.commandEncoder) b.submitQueue();
  await engine.device.queue.onSubmittedWorkDone();
}

// ---- main ---------------------------------------------------------------------------------------

interface SizeResult {
  size: number;
  flops: number;
  kdgpuKernel: string;
  kdgpu: Figure;
  tfjs: Figure | { skipped: string } | null;
  ceiling: Figure;
  ceilingSimpleLoop: Figure;
  kdgpuOverTfjs: number | null;
  kdgpuOverCeiling: number;
}

const info = engine.adapter;
console.log(`adapter: ${info.description || info.architecture} (${info.vendor}${info.software ? ', software' : ''}); ${cpus().length} CPU cores; node ${process.version}`);
if (USE_TF) {
  await tfInit();
  console.log(`TensorFlow.js ${tf.version_core}, WebGPU backend on kdgpu's GPUDevice`);
}

process.stdout.write('calibrating the FMA ceiling shader… ');
const cal = await calibrate(engine);
const shapeName = (s: CeilingShape) => `${s.chains} chains × ${s.unroll} FMA/iteration`;
console.log(cal.results.map((r) => `${r.shape.chains}×${r.shape.unroll}: ${r.gflops.toFixed(2)}`).join(', ') + ` GFLOP/s → ${shapeName(cal.best)}`);
const ceiling: Ceiling = makeCeiling(engine, cal.best);
const simple: Ceiling = makeCeiling(engine, SIMPLE_LOOP, 1e9);

const results: SizeResult[] = [];
let tfLastMs: { size: number; ms: number } | null = null;

for (const S of SIZES) {
  const flops = 2 * S * S * S;
  const plan = planMatmul(S, S, S, engine.adapter.software);
  const kernelName = plan.kind === 'tiled' ? `tiled ${plan.tile.tm}×${4 * plan.tile.tn4} ${operandModes(S, S, S, false, false).join('')}` : 'general';
  const aData = randArray(S * S, 1);
  const bData = randArray(S * S, 2);

  const ka = kd.tensor(aData, [S, S]);
  const kb = kd.tensor(bData, [S, S]);
  const kdRun = async () => {
    const c = kd.noGrad(() => kd.matmul(ka, kb));
    await engine.sync();
    c.dispose();
  };

  let tfRun: (() => Promise<void>) | null = null;
  let tfSkip: string | null = null;
  let ta: tf.Tensor2D | null = null;
  let tb: tf.Tensor2D | null = null;
  if (USE_TF) {
    const estimate = tfLastMs ? tfLastMs.ms * (S / tfLastMs.size) ** 3 * (REPS + 1) : 0;
    if (S > TF_ALWAYS_UP_TO && estimate > TF_BUDGET_MS) {
      tfSkip = `skipped: estimated ${(estimate / 1000).toFixed(0)} s for ${REPS + 1} runs exceeds --tf-budget ${TF_BUDGET_MS / 1000} s`;
    } else {
      ta = tf.tensor2d(aData, [S, S]);
      tb = tf.tensor2d(bData, [S, S]);
      tfRun = async () => {
        tf.tidy(() => {
          tf.matMul(ta!, tb!);
        });
        await tfSync();
      };
    }
  }

  // Warm-up (pipeline compilation), then alternating repetitions.
  process.stdout.write(`${S}: warm-up… `);
  await kdRun();
  if (tfRun) {
    const w = await timed(tfRun);
    tfLastMs = { size: S, ms: w.wallMs };
  }
  ceiling.run();
  simple.run();
  await engine.sync();
  const kdS: Sample[] = [];
  const tfS: Sample[] = [];
  const ceS: Sample[] = [];
  const siS: Sample[] = [];
  for (let r = 0; r < REPS; r++) {
    process.stdout.write(`${r + 1} `);
    kdS.push(await timed(kdRun));
    if (tfRun) tfS.push(await timed(tfRun));
    ceS.push(await timed(async () => (ceiling.run(), await engine.sync())));
    siS.push(await timed(async () => (simple.run(), await engine.sync())));
  }
  process.stdout.write('\n');
  if (tfS.length) tfLastMs = { size: S, ms: median(tfS.map((s) => s.wallMs)) };

  const kdF = figure(flops, kdS);
  const tfF = tfRun ? figure(flops, tfS) : tfSkip ? { skipped: tfSkip } : null;
  const ceF = figure(ceiling.flops, ceS);
  results.push({
    size: S,
    flops,
    kdgpuKernel: kernelName,
    kdgpu: kdF,
    tfjs: tfF,
    ceiling: ceF,
    ceilingSimpleLoop: figure(simple.flops, siS),
    kdgpuOverTfjs: tfF && 'gflops' in tfF ? kdF.gflops / tfF.gflops : null,
    kdgpuOverCeiling: kdF.gflops / ceF.gflops,
  });
  ka.dispose();
  kb.dispose();
  ta?.dispose();
  tb?.dispose();
}
ceiling.dispose();
simple.dispose();

// ---- report ---------------------------------------------------------------------------------------

const f2 = (x: number) => x.toFixed(2);
const pad = (s: string, n: number) => s.padStart(n);
console.log('');
console.log(`GFLOP/s, wall clock, median of ${REPS} alternating repetitions (in brackets: GFLOP per CPU-second)`);
console.log(`${pad('size', 6)} ${pad('kdgpu', 16)} ${pad('tfjs-webgpu', 16)} ${pad('FMA ceiling', 16)} ${pad('kdgpu/tfjs', 11)} ${pad('kdgpu/ceiling', 14)}  kdgpu kernel`);
for (const r of results) {
  const cell = (f: Figure) => `${f2(f.gflops)} [${f2(f.gflopsPerCpuS)}]`;
  const tfCell = r.tfjs === null ? 'off' : 'gflops' in r.tfjs ? cell(r.tfjs) : 'skipped';
  console.log(
    `${pad(String(r.size), 6)} ${pad(cell(r.kdgpu), 16)} ${pad(tfCell, 16)} ${pad(cell(r.ceiling), 16)} ${pad(r.kdgpuOverTfjs === null ? '—' : `${r.kdgpuOverTfjs.toFixed(1)}×`, 11)} ${pad(`${(100 * r.kdgpuOverCeiling).toFixed(0)}%`, 14)}  ${r.kdgpuKernel}`,
  );
}
for (const r of results) if (r.tfjs && 'skipped' in r.tfjs) console.log(`tfjs ${r.size}: ${r.tfjs.skipped}`);
const simpleMed = median(results.map((r) => r.ceilingSimpleLoop.gflops));
console.log(`FMA ceiling shader: ${shapeName(cal.best)} (best of ${cal.results.length} shapes); the naive loop (${shapeName(SIMPLE_LOOP)}) reaches ${f2(simpleMed)} GFLOP/s.`);

const out = {
  adapter: info,
  date: new Date().toISOString(),
  node: process.version,
  cpuCores: cpus().length,
  reps: REPS,
  tfjs: USE_TF ? tf.version_core : null,
  ceilingShape: cal.best,
  ceilingCalibration: cal.results,
  ceilingSimpleLoopShape: SIMPLE_LOOP,
  results,
};
const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `matmul-${adapterName}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${file}`);
process.exit(0);
