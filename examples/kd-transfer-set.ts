/**
 * Where distillation pays: a well-trained teacher (≥ 89% on Fashion-MNIST) and a 784-256-256-10
 * MLP student that sees only a small labelled transfer set (the first 2,000 training images) for
 * many epochs. On its own the student overfits; with the teacher's soft targets (T = 4, alpha =
 * 0.9 on the distillation term) it ends ahead on every seed. Both students of a seed start from
 * the same weights and see the same batches, differing only in the loss (kd.runTransferRecipe).
 *
 *   npx tsx examples/kd-transfer-set.ts [--quick] [--teacher FILE] [--seeds 0,1,2]
 *                                       [--train N] [--test N] [--epochs N] [--out DIR]
 *
 * Default teacher: assets/fashion-cnn-teacher.safetensors, `mnist-cnn-teacher` trained 6 epochs
 * on all 60,000 training images (Adam 1e-3, batch 128) by `bench/kd_torch.py teacher`, 90.63% test
 * accuracy; any kdgpu weights file that names its model works (`kdgpu train --out`).
 * Full mode: 2,000 labelled images, 80 epochs, batch 256, Adam 1e-3, seeds 0-2, all 10,000 test
 * images (minutes per student on SwiftShader); bench/kd-pays.ts runs the same recipe for the
 * kdgpu-vs-PyTorch comparison. --quick: 200 images, 2 epochs, 500 test images, seed 0.
 *
 * Writes to --out (default runs/kd-transfer-set): results.json/.csv (both students per seed) and
 * comparison.svg/.png (mean accuracy of each student).
 */
import { readFileSync } from 'node:fs';
import * as kd from '../src/index.js';
import { finish, firstN, listArg, pct, printTable, recipeProgram, RUN_HEADER, runRow, start, writeBars, writeRuns, type CommonOptions } from './recipe-util.js';

const program = recipeProgram('kd-transfer-set', 'a small labelled transfer set, where the teacher makes the difference', 'unused (Fashion-MNIST)')
  .option('--teacher <file>', 'teacher weights (kdgpu safetensors naming its model)', 'assets/fashion-cnn-teacher.safetensors')
  .option('--seeds <list>', 'seeds (default: 0,1,2; --quick: 0)', listArg)
  .parse();
const opts = program.opts<CommonOptions & { teacher: string; seeds?: number[] }>();

const t0 = performance.now();
const mode = opts.quick ? { train: 200, test: 500, epochs: 2, seeds: [0] } : { train: 2000, test: undefined, epochs: 80, seeds: [0, 1, 2] };
const seeds = opts.seeds ?? mode.seeds;
const data = { train: kd.fashionMnistDataset('train'), test: firstN(kd.fashionMnistDataset('test'), opts.test ?? mode.test) };
const bytes = new Uint8Array(readFileSync(opts.teacher));
const modelName = kd.nn.parseSafetensors(bytes, opts.teacher).metadata['kdgpu.model'];
if (!modelName) throw new Error(`${opts.teacher}: the file does not name its model (metadata kdgpu.model)`);
const trainCount = opts.train ?? mode.train;
const epochs = opts.epochs ?? mode.epochs;
const batchSize = opts.batch ?? 256;
await start('Distillation on a small transfer set', {
  teacher: `${modelName} from ${opts.teacher}`,
  students: `784-256-256-10 MLP, ${trainCount} labelled images, ${epochs} epochs, batch ${batchSize}, Adam 1e-3; KD: T 4, alpha 0.9`,
  seeds: seeds.join(', '),
  out: opts.out,
});
const teacher = kd.nn.buildModel(modelName);
kd.nn.loadWeightsFromBytes(teacher, bytes, opts.teacher);

const runs: kd.RunRecord[] = [];
let teacherReport: kd.TransferTeacherReport | undefined;
const gains: number[] = [];
for (const seed of seeds) {
  const r = await kd.runTransferRecipe({ teacher, train: data.train, test: data.test, trainCount, epochs, batchSize, seed, curveCount: 0, teacherReport });
  teacherReport = r.teacher;
  runs.push({ ...r.scratch, name: `scratch, seed ${seed}` }, { ...r.kd, name: `distilled, seed ${seed}` });
  gains.push(r.gainPoints);
  console.log(`seed ${seed}: scratch ${pct(r.scratch.test.accuracy)}, distilled ${pct(r.kd.test.accuracy)} (${r.gainPoints >= 0 ? '+' : ''}${r.gainPoints.toFixed(2)} points)`);
}
printTable(`Test accuracy (teacher ${pct(teacherReport!.accuracy)})`, RUN_HEADER, runs.map(runRow));
const mean = (role: string) => runs.filter((r) => r.name.startsWith(role)).reduce((s, r) => s + r.test.accuracy, 0) / seeds.length;
console.log(`distilled beats scratch on ${gains.filter((g) => g > 0).length} of ${seeds.length} seed(s); mean gain ${(gains.reduce((a, b) => a + b, 0) / gains.length).toFixed(2)} points`);
const files = [
  ...writeRuns(opts.out, runs, { teacher: opts.teacher, teacherAccuracy: teacherReport!.accuracy }),
  ...(await writeBars(opts.out, 'comparison', [
    { name: 'teacher', accuracy: teacherReport!.accuracy },
    { name: `scratch (mean of ${seeds.length})`, accuracy: mean('scratch') },
    { name: `distilled (mean of ${seeds.length})`, accuracy: mean('distilled') },
  ], `Small transfer set (${trainCount} labelled images) on Fashion-MNIST`)),
];
finish(t0, files);
