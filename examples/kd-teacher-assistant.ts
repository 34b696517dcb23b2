/**
 * Teacher-assistant distillation (Mirzadeh et al. 2020) with temperature and alpha sweeps.
 *
 *   npx tsx examples/kd-teacher-assistant.ts [--quick] [--data-dir DIR] [--out DIR] [--seed N]
 *                                            [--train N] [--test N] [--epochs N] [--seeds 0,1,2]
 *
 * 1. Trains the teacher `mnist-cnn-teacher` on hard labels.
 * 2. Distills it into the assistant `mnist-cnn-ta`, and the assistant into the student
 *    `mnist-mlp-student` (kd.distillChain, T = 4, alpha = 0.5).
 * 3. Trains the same student from scratch (same seed: same initial weights and batches).
 * 4. Sweeps teacher → student distillation over T (kd.T_GRID at alpha 0.5) and over alpha
 *    (kd.ALPHA_GRID at T = 4), one run per value and seed in --seeds (default: --seed).
 * Loss: alpha · T²·KL(teacher_T ‖ student_T) + (1 − alpha) · CE(labels): alpha weighs the
 * distillation term.
 *
 * Data: Fashion-MNIST; with --data-dir, MNIST from a folder of the four IDX files.
 * Full mode: the first 12,000 training images, the full test set, 3 epochs for the teacher and the
 * assistant, 2 for the students, batch 256, Adam 1e-3. On SwiftShader (no GPU) this takes hours:
 * the conv teacher runs at a few seconds per batch of 256.
 * --quick: 256 training and 200 test images, batch 64, 1 epoch for every model, T grid [1, 4],
 * alpha grid [0.1, 0.9]; about half a minute on SwiftShader.
 *
 * Writes to --out (default runs/kd-teacher-assistant): results.json/.csv (teacher, assistant,
 * students), comparison.svg/.png (test accuracies), and t-sweep/ and alpha-sweep/ with
 * kd.writeSweepOutputs' results, history and plots.
 */
import { join } from 'node:path';
import * as kd from '../src/index.js';
import { finish, firstN, listArg, loadMnistOrFashion, params, pct, printSweep, printTable, progress, recipeProgram, RUN_HEADER, runRow, start, writeBars, writeRuns, type CommonOptions } from './recipe-util.js';

const program = recipeProgram('kd-teacher-assistant', 'teacher → assistant → student distillation, and T / alpha sweeps', 'MNIST IDX folder (default: Fashion-MNIST)')
  .option('--seeds <list>', 'seeds of the sweep runs, comma-separated (default: --seed)', listArg)
  .parse();
const opts = program.opts<CommonOptions & { seeds?: number[] }>();

const t0 = performance.now();
const mode = opts.quick
  ? { train: 256, test: 200, teacherEpochs: 1, studentEpochs: 1, batchSize: 64, tGrid: [1, 4], alphaGrid: [0.1, 0.9] }
  : { train: 12000, test: undefined, teacherEpochs: 3, studentEpochs: 2, batchSize: 256, tGrid: kd.T_GRID, alphaGrid: kd.ALPHA_GRID };
const batchSize = opts.batch ?? mode.batchSize;
const teacherEpochs = opts.epochs ?? mode.teacherEpochs;
const studentEpochs = opts.epochs ?? mode.studentEpochs;
const seed = opts.seed;
const seeds = opts.seeds ?? [seed];
const T = 4;
const alpha = 0.5;

const data = loadMnistOrFashion(opts.dataDir);
const train = firstN(data.train, opts.train ?? mode.train);
const test = firstN(data.test, opts.test ?? mode.test);
await start('Teacher-assistant distillation', {
  data: `${data.name}: ${train.count} training, ${test.count} test images`,
  epochs: `teacher and assistant ${teacherEpochs}, students ${studentEpochs}; batch ${batchSize}`,
  distillation: `T=${T}, alpha=${alpha} (weight of the distillation term)`,
  sweeps: `T ∈ [${mode.tGrid.join(', ')}] at alpha ${alpha}; alpha ∈ [${mode.alphaGrid.join(', ')}] at T=${T}; seeds [${seeds.join(', ')}]`,
  out: opts.out,
});

const common = { batchSize: batchSize, seed, test };
const student = (s: number) => kd.nn.buildModel('mnist-mlp-student', { seed: s });

const teacherModel = kd.nn.buildModel('mnist-cnn-teacher', { seed });
const teacher = await kd.trainModel(teacherModel, train, {
  ...common, epochs: teacherEpochs, role: 'teacher', name: 'teacher', record: { model: 'mnist-cnn-teacher' }, callbacks: progress('teacher', teacherEpochs),
});
const assistantModel = kd.nn.buildModel('mnist-cnn-ta', { seed });
const chain = await kd.distillChain(teacherModel, assistantModel, student(seed), train, {
  ...common, epochs: studentEpochs, temperature: T, alpha, name: 'student via assistant',
  record: { model: 'mnist-mlp-student' }, callbacks: progress('student via assistant', studentEpochs),
  assistantConfig: { epochs: teacherEpochs, record: { model: 'mnist-cnn-ta' }, callbacks: progress('assistant', teacherEpochs) },
});
const scratch = await kd.trainModel(student(seed), train, {
  ...common, epochs: studentEpochs, role: 'scratch', name: 'scratch student', record: { model: 'mnist-mlp-student' }, callbacks: progress('scratch student', studentEpochs),
});

// The sweeps reuse the teacher's cached logits: one teacher pass over the training set in all.
const sweep = (grid: kd.Grid, fixed: { temperature?: number; alpha?: number }) =>
  kd.sweepDistillation({
    grid, seeds, student, teacher: teacherModel, train,
    config: { ...common, ...fixed, epochs: studentEpochs, record: { model: 'mnist-mlp-student' } },
    onRun: (r, i, total) => console.error(`  sweep run ${i + 1}/${total}: ${r.name}: ${pct(r.test.accuracy)} (${r.seconds.toFixed(1)} s)`),
  });
console.error('T sweep:');
const tSweep = await sweep({ temperature: mode.tGrid }, { alpha });
console.error('alpha sweep:');
const alphaSweep = await sweep({ alpha: mode.alphaGrid }, { temperature: T });
// The direct teacher → student run at the chain's settings, when the T grid has it.
const direct = tSweep.runs.find((r) => r.config.temperature === T && r.seed === seed);

const shape = [1, 28, 28];
printTable('Models (test set)', [...RUN_HEADER, 'params'], [
  [...runRow(teacher), params(teacherModel, shape)],
  [...runRow(chain.assistant), params(assistantModel, shape)],
  [...runRow(chain.student), params(student(seed), shape)],
  ...(direct ? [[...runRow({ ...direct, name: `student, direct KD (T=${T})` }), params(student(seed), shape)]] : []),
  [...runRow(scratch), params(student(seed), shape)],
]);
printSweep(`Teacher → student, T sweep (alpha ${alpha})`, tSweep, 'temperature');
printSweep(`Teacher → student, alpha sweep (T ${T})`, alphaSweep, 'alpha');

const runs = [teacher, chain.assistant, chain.student, ...(direct ? [{ ...direct, name: 'student, direct KD' }] : []), scratch];
const files = [
  ...writeRuns(opts.out, runs, { data: data.name }),
  ...(await writeBars(opts.out, 'comparison', runs.map((r) => ({ name: r.name, accuracy: r.test.accuracy })), `Teacher assistant on ${data.name}`)),
  ...(await kd.writeSweepOutputs(tSweep, join(opts.out, 't-sweep'))),
  ...(await kd.writeSweepOutputs(alphaSweep, join(opts.out, 'alpha-sweep'))),
];
finish(t0, files);
