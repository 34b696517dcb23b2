/**
 * kdgpu side of the distillation parity benchmark (the PyTorch side is bench/kd_torch.py parity):
 * Fashion-MNIST, the first 12,000 training images, the 10,000 test images, batch 256, Adam 1e-3,
 * T=4, alpha=0.5. Trains `mnist-cnn-teacher` 3 epochs (seed 0) and saves it for PyTorch, then per
 * seed: 2 epochs each of the scratch `mnist-mlp-student`, the KD student, the assistant
 * `mnist-cnn-ta` distilled from the teacher and the student distilled from the assistant.
 *
 *   npx tsx bench/kd-parity.ts [--seeds 0,1,2] [--reuse-teacher]
 *   /usr/bin/python3 bench/kd_torch.py parity
 *   npx tsx bench/kd-report.ts parity
 *
 * Writes bench/results/kd-parity-kdgpu.json (after every run) and kd-parity-teacher.safetensors.
 */
import { existsSync, writeFileSync } from 'node:fs';
import * as kd from '../src/index.js';

const argv = process.argv.slice(2);
const seeds = (argv.includes('--seeds') ? argv[argv.indexOf('--seeds') + 1] : '0,1,2').split(',').map(Number);
const TEACHER = 'bench/results/kd-parity-teacher.safetensors';
const OUT = 'bench/results/kd-parity-kdgpu.json';

const e = await kd.init();
const train = kd.take(kd.fashionMnistDataset('train'), 0, 12000);
const test = kd.fashionMnistDataset('test');
const common = { batchSize: 256, lr: 1e-3, test };
const out = {
  engine: `kdgpu on ${e.adapter.description || e.adapter.vendor}${e.adapter.software ? ' (software)' : ''}`,
  recipe: 'parity',
  teacher: {} as { accuracy?: number; seconds?: number; reused?: boolean },
  runs: [] as { seed: number; role: string; accuracy: number; macroF1: number; seconds: number }[],
};
const save = () => writeFileSync(OUT, JSON.stringify(out, null, 1));

const teacher = kd.nn.buildModel('mnist-cnn-teacher', { seed: 0 });
if (argv.includes('--reuse-teacher') && existsSync(TEACHER)) {
  await kd.loadWeights(teacher, TEACHER);
  const m = await kd.nn.evaluate(teacher, test);
  out.teacher = { accuracy: m.accuracy, reused: true };
} else {
  const r = await kd.trainModel(teacher, train, { ...common, epochs: 3, seed: 0, role: 'teacher' });
  await kd.saveWeights(teacher, TEACHER);
  out.teacher = { accuracy: r.test.accuracy, seconds: r.seconds };
}
console.log(`teacher: ${(100 * out.teacher.accuracy!).toFixed(2)}%`);
save();

const record = (seed: number, role: string, r: kd.RunRecord) => {
  out.runs.push({ seed, role, accuracy: r.test.accuracy, macroF1: r.test.macroF1, seconds: r.seconds });
  console.log(`seed ${seed} ${role}: ${(100 * r.test.accuracy).toFixed(2)}% (${r.seconds.toFixed(0)} s)`);
  save();
};
for (const seed of seeds) {
  const kdCfg = { ...common, epochs: 2, seed, temperature: 4, alpha: 0.5 };
  record(seed, 'scratch', await kd.trainModel(kd.nn.buildModel('mnist-mlp-student', { seed }), train, { ...common, epochs: 2, seed }));
  record(seed, 'kd', await kd.distill(kd.nn.buildModel('mnist-mlp-student', { seed }), teacher, train, kdCfg));
  const chain = await kd.distillChain(teacher, kd.nn.buildModel('mnist-cnn-ta', { seed }), kd.nn.buildModel('mnist-mlp-student', { seed }), train, kdCfg);
  record(seed, 'assistant', chain.assistant);
  record(seed, 'student-via-assistant', chain.student);
}
