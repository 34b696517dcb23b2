/**
 * Subclass distillation (Müller, Kornblith & Hinton 2020) with C = 10 classes, S = 2 subclasses.
 *
 *   npx tsx examples/kd-subclass.ts [--quick] [--data-dir DIR] [--out DIR] [--seed N]
 *                                   [--train N] [--test N] [--epochs N] [--form paper|notebook]
 *                                   [--beta B] [--aux-temperature T] [--temperature T] [--alpha A]
 *                                   [--student-beta B]
 *
 * 1. A subclass teacher (`mnist-mlp-student` with 20 outputs: 784 → 784 → 784 → 20) is trained
 *    with kd.trainSubclassTeacher: CE(collapsed logits, labels) + beta · aux(subclass logits), the
 *    auxiliary loss (temperature --aux-temperature) spreading each class over its 2 subclasses.
 * 2. A small subclass student (784 → 64 → 20) learns the teacher's 20 subclass soft targets with
 *    kd.distillSubclasses: alpha · T²·CE(teacher_T, student_T) + (1 − alpha) · CE(collapsed, labels)
 *    + student-beta · aux(student); alpha weighs the distillation term.
 * 3. Baselines with the student's body and 10 outputs: ordinary KD from the collapsed teacher
 *    (same T and alpha), and training from scratch.
 * Every model is evaluated on its collapsed class logits. The recipe also reports how the teacher
 * splits each class between its two subclasses, and how often the student picks the same subclass.
 * --form paper (default): the paper's auxiliary loss and log-sum-exp collapse; --form notebook:
 * the reference notebook's (its log(exp(·)) aux form and plain sum of the subclass logits), with
 * beta 0.01 by default since that aux term grows with the batch size.
 *
 * Data: Fashion-MNIST; with --data-dir, MNIST from a folder of the four IDX files.
 * Full mode: the first 12,000 training images, the full test set, 3 epochs, batch 128, Adam 1e-3
 * (a few minutes on SwiftShader). --quick: 512 training and 200 test images, 1 epoch, batch 64.
 *
 * Writes to --out (default runs/kd-subclass): results.json (runs and subclass usage), results.csv,
 * comparison.svg/.png.
 */
import { Option } from 'commander';
import * as kd from '../src/index.js';
import { finish, firstN, loadMnistOrFashion, numberArg, pct, printTable, progress, recipeProgram, RUN_HEADER, runRow, start, writeBars, writeRuns, type CommonOptions } from './recipe-util.js';

const program = recipeProgram('kd-subclass', 'subclass distillation: a 20-logit teacher, a 20-logit student, baselines', 'MNIST IDX folder (default: Fashion-MNIST)')
  .addOption(new Option('--form <form>', 'auxiliary loss and collapse: the paper\'s or the reference notebook\'s').choices(['paper', 'notebook']).default('paper'))
  .option('--beta <b>', "weight of the teacher's auxiliary loss (default 1; 0.01 with --form notebook)", numberArg)
  .option('--aux-temperature <t>', "temperature of the teacher's auxiliary loss", numberArg, 0.5)
  .option('--temperature <t>', 'distillation temperature', numberArg, 4)
  .option('--alpha <a>', 'weight of the distillation term', numberArg, 0.5)
  .option('--student-beta <b>', "weight of the student's auxiliary loss (0: none)", numberArg, 0)
  .parse();
const opts = program.opts<CommonOptions & { form: kd.AuxForm; beta?: number; auxTemperature: number; temperature: number; alpha: number; studentBeta: number }>();

const t0 = performance.now();
const C = 10;
const S = 2;
const STUDENT_HIDDEN = 64;
const mode = opts.quick ? { train: 512, test: 200, epochs: 1, batchSize: 64 } : { train: 12000, test: undefined, epochs: 3, batchSize: 128 };
const batchSize = opts.batch ?? mode.batchSize;
const epochs = opts.epochs ?? mode.epochs;
const seed = opts.seed;
const collapse: kd.CollapseMode = opts.form === 'notebook' ? 'notebook' : 'logsumexp';
// The notebook's aux term is ‖Σᵢ vᵢ‖²/(n·T): up to n/T, so it grows with the batch and drowns the
// label loss at beta 1 (a 28% teacher on 3,000 images); at 0.01 the teacher is as accurate as the paper form's.
const beta = opts.beta ?? (opts.form === 'notebook' ? 0.01 : 1);

const data = loadMnistOrFashion(opts.dataDir);
const train = firstN(data.train, opts.train ?? mode.train);
const test = firstN(data.test, opts.test ?? mode.test);
await start('Subclass distillation', {
  data: `${data.name}: ${train.count} training, ${test.count} test images; ${C} classes × ${S} subclasses`,
  training: `${epochs} epoch(s), batch ${batchSize}, Adam 1e-3`,
  teacher: `mnist-mlp-student with ${C * S} outputs; beta ${beta}, aux temperature ${opts.auxTemperature}, form ${opts.form}`,
  student: `784 → ${STUDENT_HIDDEN} → ${C * S}; T ${opts.temperature}, alpha ${opts.alpha} (weight of the distillation term), student beta ${opts.studentBeta}`,
  out: opts.out,
});

const studentMlp = (outputs: number) => {
  const l = { rng: seed + 1 };
  return new kd.nn.Sequential(new kd.nn.Flatten(), new kd.nn.Linear(784, STUDENT_HIDDEN, l), new kd.nn.ReLU(), new kd.nn.Linear(STUDENT_HIDDEN, outputs, l));
};
const common = { epochs, batchSize: batchSize, seed, test, classes: C, subclasses: S, collapse, form: opts.form };

const teacherModel = kd.nn.buildModel('mnist-mlp-student', { seed, classes: C * S });
const teacher = await kd.trainSubclassTeacher(teacherModel, train, {
  ...common, temperature: opts.auxTemperature, beta, name: 'subclass teacher', callbacks: progress('subclass teacher', epochs),
});
const studentModel = studentMlp(C * S);
const student = await kd.distillSubclasses(studentModel, teacherModel, train, {
  ...common, temperature: opts.temperature, alpha: opts.alpha, beta: opts.studentBeta, name: 'subclass student', callbacks: progress('subclass student', epochs),
});
// The collapsed teacher as an ordinary 10-class teacher (softmax = summed subclass probabilities).
const classTeacher = new kd.SubclassCollapse(teacherModel, C, S, collapse);
const kdStudent = await kd.distill(studentMlp(C), classTeacher, train, {
  epochs, batchSize: batchSize, seed, test, temperature: opts.temperature, alpha: opts.alpha, name: 'class-level KD student', callbacks: progress('class-level KD student', epochs),
});
const scratch = await kd.trainModel(studentMlp(C), train, {
  epochs, batchSize: batchSize, seed, test, role: 'scratch', name: 'scratch student', callbacks: progress('scratch student', epochs),
});

/** The subclass each test sample picks within its true class (0 … S−1). */
async function subclassPicks(model: kd.nn.Module): Promise<Int32Array> {
  const z = await kd.nn.predict(model, test);
  return Int32Array.from(test.y, (c, i) => {
    let best = 0;
    for (let j = 1; j < S; j++) if (z[i * C * S + c * S + j] > z[i * C * S + c * S + best]) best = j;
    return best;
  });
}
const [tPick, sPick] = await Promise.all([subclassPicks(teacherModel), subclassPicks(studentModel)]);
const usage = Array.from({ length: C }, (_, c) => {
  const idx = [...test.y.keys()].filter((i) => test.y[i] === c);
  const share = Array.from({ length: S }, (_, j) => idx.filter((i) => tPick[i] === j).length / Math.max(1, idx.length));
  const agree = idx.filter((i) => tPick[i] === sPick[i]).length / Math.max(1, idx.length);
  return { class: c, samples: idx.length, teacherShare: share, studentAgreement: agree };
});
const agreement = tPick.filter((p, i) => p === sPick[i]).length / test.count;

const runs = [teacher, student, kdStudent, scratch];
printTable('Test accuracy (collapsed class logits)', RUN_HEADER, runs.map(runRow));
printTable('Teacher subclass split of each class (test set), and student agreement', ['class', 'samples', ...Array.from({ length: S }, (_, j) => `subclass ${j}`), 'student agrees'],
  usage.map((u) => [u.class, u.samples, ...u.teacherShare.map(pct), pct(u.studentAgreement)]));
console.log(`student picks the teacher's subclass for ${pct(agreement)} of test images (chance: ${pct(1 / S)})`);

const files = [
  ...writeRuns(opts.out, runs, { data: data.name, subclassUsage: usage, subclassAgreement: agreement }),
  ...(await writeBars(opts.out, 'comparison', runs.map((r) => ({ name: r.name, accuracy: r.test.accuracy })), `Subclass distillation on ${data.name}`)),
];
finish(t0, files);
