/**
 * kdgpu side of the "distillation pays" benchmark (the PyTorch side is bench/kd_torch.py pays):
 * a well-trained teacher, a 784-256-256-10 MLP student on a small labelled transfer set (the
 * first --train Fashion-MNIST training images) for many epochs, batch 256, Adam 1e-3; KD (T=4,
 * alpha=0.9 on the distillation term) vs scratch from the same weights and the same batches,
 * seeds 0-2 (kd.runTransferRecipe). Accuracy curves on the first 2,000 test images every 10
 * epochs (as the PyTorch side), final accuracy on the 10,000 test images.
 *
 *   npx tsx bench/kd-pays.ts [--teacher assets/fashion-teacher.safetensors] [--train 1000] [--epochs 120]
 *                            [--seeds 0,1,2] [--test 10000] [--curve-every 10] [--out bench/results/kd-pays-kdgpu.json]
 *   /usr/bin/python3 bench/kd_torch.py pays [--teacher FILE] [--train 1000] [--epochs 120]
 *   npx tsx bench/kd-report.ts pays
 *
 * Both sides must load the same teacher file (PyTorch builds it as mnist-cnn-small). The model is
 * the one the file's metadata names (`kdgpu train --out` writes it), else mnist-cnn-small. The
 * students' initial weights are seeded from the seed in each engine's own way (PyTorch:
 * torch.manual_seed(100 + seed); kdgpu: the seed), so per-seed numbers are not expected to match,
 * only the verdict: KD beats scratch on every seed.
 *
 * Writes the JSON after every seed: { engine, recipe: 'pays', train, epochs, T, alpha,
 * teacherAccuracy, teacher: { weights, model, params, flops, imagesPerSecond },
 * runs: [{ seed, role: 'scratch' | 'kd', accuracy, macroF1, seconds, imagesPerSecond, curve: [{ epoch, accuracy }] }] }.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as kd from '../src/index.js';
import { runTransferRecipe, TRANSFER_RECIPE, type TransferTeacherReport } from '../src/kd/transfer-recipe.js';

const argv = process.argv.slice(2);
function arg(name: string, def: string): string {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
  return argv[i + 1];
}
function intArg(name: string, def: number): number {
  const v = Number(arg(name, String(def)));
  if (!Number.isSafeInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

const TEACHER = arg('teacher', 'assets/fashion-teacher.safetensors');
const OUT = arg('out', 'bench/results/kd-pays-kdgpu.json');
const trainCount = intArg('train', TRANSFER_RECIPE.trainCount);
const epochs = intArg('epochs', TRANSFER_RECIPE.epochs);
const curveEvery = intArg('curve-every', 10);
const seeds = arg('seeds', '0,1,2').split(',').map(Number);
if (seeds.some((s) => !Number.isInteger(s) || s < 0)) throw new Error('--seeds must be a comma-separated list of integers ≥ 0');
const T = TRANSFER_RECIPE.temperature;
const alpha = TRANSFER_RECIPE.alpha;

if (!existsSync(TEACHER)) {
  console.error(`teacher ${TEACHER} not found: pass --teacher FILE (the same file bench/kd_torch.py pays gets), e.g. from \`npx tsx examples/train-demo-teacher.ts\``);
  process.exit(1);
}
const bytes = new Uint8Array(readFileSync(TEACHER));
const modelName = kd.nn.parseSafetensors(bytes, TEACHER).metadata['kdgpu.model'] ?? 'mnist-cnn-small';

const e = await kd.init();
const train = kd.fashionMnistDataset('train');
const fullTest = kd.fashionMnistDataset('test');
const test = kd.take(fullTest, 0, Math.min(intArg('test', fullTest.count), fullTest.count));
const teacher = kd.nn.buildModel(modelName, { seed: 0 });
kd.nn.loadWeightsFromBytes(teacher, bytes, TEACHER);

const out = {
  engine: `kdgpu on ${e.adapter.description || e.adapter.vendor}${e.adapter.software ? ' (software)' : ''}`,
  recipe: 'pays',
  train: trainCount,
  epochs,
  T,
  alpha,
  teacherAccuracy: NaN,
  teacher: { weights: TEACHER, model: modelName, params: 0, flops: 0, imagesPerSecond: 0 },
  runs: [] as { seed: number; role: 'scratch' | 'kd'; accuracy: number; macroF1: number; seconds: number; imagesPerSecond: number; curve: { epoch: number; accuracy: number }[] }[],
};
let teacherReport: TransferTeacherReport | undefined;
const save = () => writeFileSync(OUT, JSON.stringify(out, null, 1));
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

for (const seed of seeds) {
  const r = await runTransferRecipe({
    teacher,
    train,
    test,
    trainCount,
    epochs,
    curveCount: Math.min(TRANSFER_RECIPE.curveCount, test.count),
    curveEvery,
    seed,
    temperature: T,
    alpha,
    onStage: (s) => console.log(`seed ${seed}: ${s}`),
    teacherReport, // evaluated once, on the first seed
  });
  if (!teacherReport) {
    teacherReport = r.teacher;
    out.teacherAccuracy = r.teacher.accuracy;
    out.teacher = { weights: TEACHER, model: modelName, params: r.teacher.params, flops: r.teacher.flops, imagesPerSecond: r.teacher.inferenceImagesPerSecond };
    console.log(`teacher ${modelName}: ${pct(r.teacher.accuracy)}`);
  }
  for (const role of ['scratch', 'kd'] as const) {
    const s = r[role];
    out.runs.push({ seed, role, accuracy: s.test.accuracy, macroF1: s.test.macroF1, seconds: s.seconds, imagesPerSecond: s.imagesPerSecond, curve: r.curves[role] });
    console.log(`seed ${seed} ${role}: ${pct(s.test.accuracy)} (${s.seconds.toFixed(0)} s)`);
  }
  console.log(`seed ${seed}: KD − scratch ${r.gainPoints >= 0 ? '+' : ''}${r.gainPoints.toFixed(2)} points`);
  save();
}
console.log(`wrote ${OUT}`);
kd.shutdown();
