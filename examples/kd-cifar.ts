/**
 * The PyTorch knowledge-distillation tutorial's CIFAR-10 recipe: the `cifar-deep-cnn` teacher
 * (DeepNN) and four `cifar-light-cnn` students (LightNN) that start from the same weights.
 *
 *   npx tsx examples/kd-cifar.ts [--quick] [--data-dir DIR] [--out DIR] [--seed N]
 *                                [--train N] [--test N] [--epochs N]
 *
 * Students, as in the tutorial:
 * - scratch: cross-entropy on the labels;
 * - KD: 0.25 · T²·KL(teacher_T ‖ student_T) + 0.75 · CE, T = 2 (kd.distill with
 *   weights {kd: 0.25, ce: 0.75}; alpha, the weight of the distillation term, is 0.25 here);
 * - cosine: 0.25 · (1 − cos(student, teacher)) on the flattened conv features (taps 'flatten';
 *   the teacher's 2048 values are average-pooled to the student's 1024) + 0.75 · CE;
 * - regressor + MSE: a trainable Conv2d(16, 32, 3, padding 1) maps the student's feature map to the
 *   teacher's (taps 'features'), 0.25 · MSE + 0.75 · CE.
 * The tutorial's hidden-representation runs have no soft-target term, so they use weights
 * {kd: 0, ce: 0.75} (HIDDEN_KD_WEIGHT below adds one).
 *
 * Data: CIFAR-10 from --data-dir (the binary version's folder: data_batch_1…5.bin, test_batch.bin),
 * normalized with the tutorial's mean/std. Without it, Fashion-MNIST stands in, made 3×32×32
 * (zero-padded 28 → 32, the channel repeated 3×) and normalized with its own mean/std.
 * Full mode: the tutorial's 10 epochs, batch 128, Adam 1e-3, on all CIFAR-10 training images
 * (the first 12,000 Fashion-MNIST images without --data-dir) and the full test set. DeepNN costs
 * ~0.2 GFLOP per image forward: on SwiftShader full mode takes days; use a GPU or --train/--epochs.
 * --quick: 32 training and 32 test images, batch 16, 1 epoch (a smoke run, not a result).
 *
 * Writes to --out (default runs/kd-cifar): results.json/.csv and comparison.svg/.png.
 */
import * as kd from '../src/index.js';
import { finish, firstN, params, printTable, progress, recipeProgram, RUN_HEADER, runRow, start, writeBars, writeRuns, type CommonOptions } from './recipe-util.js';

const program = recipeProgram('kd-cifar', "the PyTorch KD tutorial's CIFAR-10 recipe", 'CIFAR-10 binary folder (default: Fashion-MNIST as 3×32×32)').parse();
const opts = program.opts<CommonOptions>();

const T = 2;
const KD_WEIGHTS = { kd: 0.25, ce: 0.75 };
const HIDDEN_WEIGHT = 0.25;
const HIDDEN_KD_WEIGHT = 0;
// The tutorial's torchvision Normalize values (ImageNet statistics).
const CIFAR_MEAN = [0.485, 0.456, 0.406];
const CIFAR_STD = [0.229, 0.224, 0.225];

/** A [1, 28, 28] image set as [3, 32, 32]: 2 zero pixels on each side, the channel repeated 3×. */
function to3x32(d: kd.ArrayDataset): kd.ArrayDataset {
  const x = new Float32Array(d.count * 3 * 32 * 32);
  for (let i = 0; i < d.count; i++) {
    for (let r = 0; r < 28; r++) {
      const row = d.x.subarray(i * 784 + r * 28, i * 784 + r * 28 + 28);
      for (let c = 0; c < 3; c++) x.set(row, i * 3072 + c * 1024 + (r + 2) * 32 + 2);
    }
  }
  return { ...d, x, sampleShape: [3, 32, 32] };
}

function loadData(): { name: string; train: kd.ArrayDataset; test: kd.ArrayDataset } {
  const n = opts.train ?? (opts.quick ? 32 : opts.dataDir ? undefined : 12000);
  const nTest = opts.test ?? (opts.quick ? 32 : undefined);
  if (opts.dataDir) {
    const [train, test] = [firstN(kd.loadCifar10('train', opts.dataDir), n), firstN(kd.loadCifar10('test', opts.dataDir), nTest)];
    return { name: 'CIFAR-10', train: kd.normalize(train, CIFAR_MEAN, CIFAR_STD), test: kd.normalize(test, CIFAR_MEAN, CIFAR_STD) };
  }
  const train = to3x32(firstN(kd.fashionMnistDataset('train'), n));
  const test = to3x32(firstN(kd.fashionMnistDataset('test'), nTest));
  const { mean, std } = kd.channelStats(train);
  return { name: 'Fashion-MNIST as 3×32×32', train: kd.normalize(train, mean, std), test: kd.normalize(test, mean, std) };
}

const t0 = performance.now();
const epochs = opts.epochs ?? (opts.quick ? 1 : 10);
const batchSize = opts.batch ?? (opts.quick ? 16 : 128);
const seed = opts.seed;
const data = loadData();
const { train, test } = data;
await start("PyTorch KD tutorial recipe (DeepNN → LightNN)", {
  data: `${data.name}: ${train.count} training, ${test.count} test images`,
  training: `${epochs} epoch(s), batch ${batchSize}, Adam 1e-3`,
  KD: `T ${T}, weights kd ${KD_WEIGHTS.kd} / ce ${KD_WEIGHTS.ce}; hidden terms weight ${HIDDEN_WEIGHT} (+ ce ${KD_WEIGHTS.ce})`,
  out: opts.out,
});

const common = { epochs, batchSize, seed, test };
const cb = (label: string) => progress(label, epochs);
const lightNN = () => kd.nn.buildModel('cifar-light-cnn', { seed: seed + 1 });
const teacherModel = kd.nn.buildModel('cifar-deep-cnn', { seed });

const teacher = await kd.trainModel(teacherModel, train, { ...common, role: 'teacher', name: 'teacher (DeepNN)', callbacks: cb('teacher') });
const scratch = await kd.trainModel(lightNN(), train, { ...common, role: 'scratch', name: 'student, scratch', callbacks: cb('scratch') });
const kdRun = await kd.distill(lightNN(), teacherModel, train, { ...common, temperature: T, weights: KD_WEIGHTS, name: 'student, KD', callbacks: cb('KD') });
const hiddenCfg = { ...common, temperature: T, weights: { kd: HIDDEN_KD_WEIGHT, ce: KD_WEIGHTS.ce } };
const cosine = await kd.distill(lightNN(), teacherModel, train, {
  ...hiddenCfg, name: 'student, cosine', callbacks: cb('cosine'),
  hidden: { kind: 'cosine', weight: HIDDEN_WEIGHT, studentTap: 'flatten', teacherTap: 'flatten' },
});
const mse = await kd.distill(lightNN(), teacherModel, train, {
  ...hiddenCfg, name: 'student, regressor + MSE', callbacks: cb('regressor + MSE'),
  hidden: { kind: 'mse', weight: HIDDEN_WEIGHT, studentTap: 'features', teacherTap: 'features', regressor: new kd.nn.Conv2d(16, 32, 3, { padding: 1, rng: seed + 2 }) },
});

const runs = [teacher, scratch, kdRun, cosine, mse];
const shape = [3, 32, 32];
console.log(`\nparameters: teacher ${params(teacherModel, shape).toLocaleString('en-US')}, student ${params(lightNN(), shape).toLocaleString('en-US')}`);
printTable('Test accuracy', RUN_HEADER, runs.map(runRow));
const files = [
  ...writeRuns(opts.out, runs, { data: data.name }),
  ...(await writeBars(opts.out, 'comparison', runs.map((r) => ({ name: r.name.replace('student, ', ''), accuracy: r.test.accuracy })), `PyTorch KD tutorial recipe on ${data.name}`)),
];
finish(t0, files);
