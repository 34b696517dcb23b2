/**
 * Distilling an ensemble: five `mnist-cnn-ensemble-member` CNNs that differ in seed, initializer
 * and dropout rate are trained, averaged, and distilled into one `mnist-mlp-student`.
 *
 *   npx tsx examples/kd-ensemble.ts [--quick] [--data-dir DIR] [--out DIR] [--seed N]
 *                                   [--train N] [--test N] [--epochs N] [--members K] [--probs]
 *                                   [--temperature T] [--alpha A]
 *
 * 1. Trains K members; member i has seed (--seed + i), initializer INITS[i mod 5] and dropout
 *    DROPOUTS[i mod 5], so the members make different mistakes.
 * 2. Evaluates the ensemble that averages the members' logits (kd.Teacher(members, {combine:
 *    'logits'})), and with --probs also the one that averages their probabilities.
 * 3. Distills the logit-averaging ensemble into the student (T = 4, alpha = 0.5; alpha weighs the
 *    distillation term), with --probs also the probability-averaging one, and trains the same
 *    student from scratch. The ensemble's outputs are computed once and cached.
 *
 * Data: Fashion-MNIST; with --data-dir, MNIST from a folder of the four IDX files.
 * Full mode: 5 members, the first 12,000 training images, the full test set, 3 epochs for the
 * members and 2 for the students, batch 256, Adam 1e-3; hours on SwiftShader (each member is a
 * conv net of ~9 M multiply-adds per image). --quick: 3 members, 64 training and 64 test
 * images, batch 32, 1 epoch.
 *
 * Writes to --out (default runs/kd-ensemble): results.json/.csv (members, ensembles, students) and
 * comparison.svg/.png (member mean ± std, ensembles, students).
 */
import * as kd from '../src/index.js';
import { finish, firstN, positiveIntArg, loadMnistOrFashion, numberArg, pct, printTable, progress, recipeProgram, RUN_HEADER, runRow, start, writeBars, writeRuns, type CommonOptions } from './recipe-util.js';

const program = recipeProgram('kd-ensemble', 'distilling a five-CNN ensemble into an MLP student', 'MNIST IDX folder (default: Fashion-MNIST)')
  .option('--members <k>', "ensemble members (default: the mode's, 5 or 3)", positiveIntArg)
  .option('--probs', 'also evaluate and distill the probability-averaging ensemble', false)
  .option('--temperature <t>', 'distillation temperature', numberArg, 4)
  .option('--alpha <a>', 'weight of the distillation term', numberArg, 0.5)
  .parse();
const opts = program.opts<CommonOptions & { members?: number; probs: boolean; temperature: number; alpha: number }>();

const INITS = ['pytorch', 'keras', 'he_uniform', 'xavier_normal', 'lecun_uniform'] as const satisfies readonly kd.nn.InitScheme[];
const DROPOUTS = [0.3, 0.2, 0.4, 0.25, 0.35];

const t0 = performance.now();
const mode = opts.quick
  ? { members: 3, train: 64, test: 64, memberEpochs: 1, studentEpochs: 1, batchSize: 32 }
  : { members: 5, train: 12000, test: undefined, memberEpochs: 3, studentEpochs: 2, batchSize: 256 };
const K = opts.members ?? mode.members;
const memberEpochs = opts.epochs ?? mode.memberEpochs;
const studentEpochs = opts.epochs ?? mode.studentEpochs;
const seed = opts.seed;
const batchSize = opts.batch ?? mode.batchSize;

const data = loadMnistOrFashion(opts.dataDir);
const train = firstN(data.train, opts.train ?? mode.train);
const test = firstN(data.test, opts.test ?? mode.test);
await start('Ensemble distillation', {
  data: `${data.name}: ${train.count} training, ${test.count} test images`,
  members: `${K} × mnist-cnn-ensemble-member, ${memberEpochs} epoch(s) each; batch ${batchSize}`,
  student: `mnist-mlp-student, ${studentEpochs} epoch(s); T ${opts.temperature}, alpha ${opts.alpha} (weight of the distillation term)`,
  out: opts.out,
});
const common = { batchSize, test };

const members: kd.nn.Module[] = [];
const memberRuns: kd.RunRecord[] = [];
for (let i = 0; i < K; i++) {
  const [init, dropout, s] = [INITS[i % INITS.length], DROPOUTS[i % DROPOUTS.length], seed + i];
  const name = `member ${i + 1} (${init}, dropout ${dropout})`;
  const m = kd.nn.buildModel('mnist-cnn-ensemble-member', { seed: s, init, dropout });
  memberRuns.push(await kd.trainModel(m, train, { ...common, seed: s, epochs: memberEpochs, role: 'member', name, record: { init, dropout }, callbacks: progress(name, memberEpochs) }));
  members.push(m);
}

/** An evaluation of a model as a RunRecord, so ensembles share the runs' tables and CSV. */
async function evaluated(name: string, model: kd.nn.Module, config: Record<string, kd.ConfigValue>): Promise<kd.RunRecord> {
  const t = performance.now();
  const m = await kd.nn.evaluate(model, test);
  return { name, config: { role: 'ensemble', members: K, testCount: test.count, ...config }, seed, hashes: {}, history: [], test: kd.testMetricsOf(m), seconds: (performance.now() - t) / 1000 };
}
const combines: kd.EnsembleCombine[] = opts.probs ? ['logits', 'probs'] : ['logits'];
const ensembles = combines.map((combine) => new kd.Teacher(members, { combine }));
const ensembleRuns: kd.RunRecord[] = [];
for (const e of ensembles) ensembleRuns.push(await evaluated(`ensemble (${e.combine})`, e, { combine: e.combine }));

const student = () => kd.nn.buildModel('mnist-mlp-student', { seed });
const studentRuns: kd.RunRecord[] = [];
for (const e of ensembles) {
  const name = `student from ensemble (${e.combine})`;
  studentRuns.push(await kd.distill(student(), e, train, {
    ...common, seed, epochs: studentEpochs, temperature: opts.temperature, alpha: opts.alpha, name, callbacks: progress(name, studentEpochs),
  }));
}
studentRuns.push(await kd.trainModel(student(), train, { ...common, seed, epochs: studentEpochs, role: 'scratch', name: 'scratch student', callbacks: progress('scratch student', studentEpochs) }));

const runs = [...memberRuns, ...ensembleRuns, ...studentRuns];
printTable('Test accuracy', RUN_HEADER, runs.map(runRow));
const accs = memberRuns.map((r) => r.test.accuracy);
const mean = accs.reduce((a, b) => a + b, 0) / K;
const std = K > 1 ? Math.sqrt(accs.reduce((a, v) => a + (v - mean) ** 2, 0) / (K - 1)) : undefined;
console.log(`members: mean ${pct(mean)}${std === undefined ? '' : ` ± ${(100 * std).toFixed(2)}`}; best ${pct(Math.max(...accs))}`);
for (const r of ensembleRuns) {
  const atLeastBest = r.test.accuracy >= Math.max(...accs);
  console.log(`${r.name}: ${pct(r.test.accuracy)} — ${atLeastBest ? 'at least' : 'BELOW'} the best member's ${pct(Math.max(...accs))}`);
}

const bars: kd.ComparisonEntry[] = [
  { name: `members (mean of ${K})`, accuracy: mean, std },
  ...[...ensembleRuns, ...studentRuns].map((r) => ({ name: r.name.replace('student from ensemble', 'KD student'), accuracy: r.test.accuracy })),
];
const files = [
  ...writeRuns(opts.out, runs, { data: data.name }),
  ...(await writeBars(opts.out, 'comparison', bars, `Ensemble distillation on ${data.name}`)),
];
finish(t0, files);
