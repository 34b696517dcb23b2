/**
 * One training step, kernel by kernel: builds a built-in model (kd.nn.buildModel), runs a warm-up
 * step (compiling pipelines), times --steps plain steps, then profiles --steps more with timestamp
 * queries, and prints the top kernels per step with their share of the step's GPU time and their
 * GFLOP/s (for the kernels whose FLOPs kdgpu counts: matmul, conv2d, pooling).
 *
 *   npx tsx bench/profile-step.ts [--model mnist-mlp-student] [--batch 256] [--steps 3] [--top 15]
 *                                 [--step plain|loader|kd-cached] [--teacher hinton-mlp-teacher]
 *
 * A step is what `fit` records: forward, softmax cross-entropy, backward and an Adam update, on a
 * random batch (inputs uniform in [0, 1), random labels), submitted as one queue submission. Wall
 * time per step is measured on the plain steps, each waited for (engine.sync()); profiled steps
 * run every dispatch in a compute pass of its own, so their wall time is given apart. The same
 * table comes out of any training run with KDGPU_PROFILE=1 (per epoch, from `fit`).
 * `--step loader` draws the batches from a shuffling GpuLoader instead, and `--step kd-cached` is
 * the distillation step with --teacher's logits cached (bench/lib/steps-kdgpu.ts kdLoaderStep):
 * profile both to see what distillation adds to the scratch step.
 */
import * as kd from '../src/index.js';
import { kdLoaderStep, type StepRunner } from './lib/steps-kdgpu.js';

const argv = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
function intOpt(name: string, dflt: number): number {
  const v = Number(opt(name, String(dflt)));
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const modelName = opt('model', 'mnist-mlp-student');
const batch = intOpt('batch', 256);
const steps = intOpt('steps', 3);
const top = intOpt('top', 15);
const stepKind = opt('step', 'plain');
if (!['plain', 'loader', 'kd-cached'].includes(stepKind)) throw new Error(`--step must be plain, loader or kd-cached, got '${stepKind}'`);
const teacherName = opt('teacher', 'hinton-mlp-teacher');
const info = kd.nn.MODELS[modelName];
if (!info) throw new Error(`unknown model '${modelName}'; built-in models: ${Object.keys(kd.nn.MODELS).join(', ')}`);

const e = await kd.init();
// KDGPU_PROFILE=1 would have started a profile at init; this script runs its own.
if (e.profileOptions) await e.stopProfile();
const a = e.adapter;
console.log(`adapter: ${a.description || a.device || a.vendor}${a.software ? ' (software)' : ''}`);

const model = kd.nn.buildModel(modelName, { seed: 0 });
const optimizer = new kd.nn.Adam(model.parameters(), { lr: 1e-3 });
const classes = 10;
const x = kd.rand([batch, ...info.inputShape], { seed: 1 });
const labels = new Int32Array(batch);
const rng = new kd.Random(2);
for (let i = 0; i < batch; i++) labels[i] = Math.floor(rng.next() * classes);
const y = kd.tensor(labels, [batch]);
const s = kd.nn.summary(model, info.inputShape);
// Training FLOPs per image: forward plus backward at about twice the forward (the usual 3x).
const trainFlops = 3 * 2 * s.macs * batch;
console.log(`model: ${modelName}, ${s.params.toLocaleString('en-US')} parameters; batch ${batch}; ${steps} step${steps === 1 ? '' : 's'}; step: ${stepKind}${stepKind === 'kd-cached' ? ` (teacher ${teacherName}, T=4, alpha=0.9)` : ''}`);

const loaderRunner: StepRunner | null =
  stepKind === 'plain' ? null : await kdLoaderStep(e, modelName, batch, stepKind === 'kd-cached' ? { teacher: teacherName, temperature: 4, alpha: 0.9 } : null);

async function step(): Promise<void> {
  if (loaderRunner) return void (await loaderRunner.run()); // waits for its own work
  kd.tidy(() => {
    const loss = kd.softmaxCrossEntropy(kd.nn.logitsOf(model.forward(x)), y);
    optimizer.zeroGrad();
    loss.backward();
  });
  optimizer.step(); // submits the step
  await e.sync();
}

let t = performance.now();
await step();
console.log(`warm-up step: ${(performance.now() - t).toFixed(0)} ms (pipelines compiled)`);

t = performance.now();
for (let i = 0; i < steps; i++) await step();
const wallMs = (performance.now() - t) / steps;

e.startProfile();
t = performance.now();
for (let i = 0; i < steps; i++) await step();
const profiledWallMs = (performance.now() - t) / steps;
const report = await e.stopProfile();

console.log();
console.log(kd.formatProfile(report, { top }));
console.log();
const gpuMs = report.totalNs / steps / 1e6;
console.log(`wall time per step: ${wallMs.toFixed(1)} ms (${((trainFlops / wallMs) * 1e-6).toFixed(2)} GFLOP/s at ~3x forward FLOPs, ${Math.round((batch * 1000) / wallMs)} images/s)`);
console.log(`profiled: ${profiledWallMs.toFixed(1)} ms wall per step, ${gpuMs.toFixed(1)} ms of it in kernels`);

loaderRunner?.dispose();
x.dispose();
y.dispose();
optimizer.dispose();
model.dispose();
kd.shutdown();
