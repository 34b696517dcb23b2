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
import * as kd from '../src/index.js';
import { calibrate, makeCeiling, SIMPLE_LOOP, type Ceiling, type CeilingShape } from './fma-ceiling.js';
import { kdMatmul, kdMatmulKernel, tfMatmul, type Runner } from './lib/matmul-runners.js';
import { initTfjsWebgpu, tf, tfWebgpuSync } from './lib/tfjs.js';
import { adapterSlug, median, timed, type Sample } from './lib/timing.js';

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
const adapterName = adapterSlug(engine.adapter);

// ---- figures ----------------------------------------------------------------------------------

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
  await initTfjsWebgpu(engine.device);
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
  const kernelName = kdMatmulKernel(engine, S, S, S);
  const k = kdMatmul(engine, S, S, S);
  const kdRun = () => k.run();

  let tfm: Runner | null = null;
  let tfRun: (() => Promise<void>) | null = null;
  let tfSkip: string | null = null;
  if (USE_TF) {
    const estimate = tfLastMs ? tfLastMs.ms * (S / tfLastMs.size) ** 3 * (REPS + 1) : 0;
    if (S > TF_ALWAYS_UP_TO && estimate > TF_BUDGET_MS) {
      tfSkip = `skipped: estimated ${(estimate / 1000).toFixed(0)} s for ${REPS + 1} runs exceeds --tf-budget ${TF_BUDGET_MS / 1000} s`;
    } else {
      tfm = tfMatmul(S, S, S, tfWebgpuSync);
      tfRun = () => tfm!.run();
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
  k.dispose();
  tfm?.dispose();
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
