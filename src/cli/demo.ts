/**
 * `kdgpu demo`: the distillation demo — where knowledge distillation pays. A trained Fashion-MNIST
 * teacher (assets/fashion-teacher.safetensors in the package, or --teacher FILE) teaches a
 * 784-256-256-10 MLP from only 1,000 labelled images for 120 epochs (Adam 1e-3, batch 256, T=4,
 * alpha=0.9 on the distillation term); the same MLP trained on the labels alone, from the same
 * initial weights and with the same batches, is the baseline (kd.runTransferRecipe). Prints test
 * accuracy, parameters, FLOPs and images/s of the teacher and both students and the KD − scratch
 * gain, and writes into --out (default ./kdgpu-demo): results.json, curves.svg/.png (test accuracy
 * of both students per epoch), accuracy.svg/.png (bars), and both students' weights.
 *
 * Sizes: default 1,000 images × 120 epochs (a few minutes on SwiftShader); --quick 200 images ×
 * 3 epochs on 500 test images (seconds); --full 2,000 images × 200 epochs (for a real GPU).
 * --train-teacher first retrains the teacher with the documented recipe (the model named in the
 * teacher file, else mnist-cnn-small; all 60,000 training images, Adam 1e-3, batch 128,
 * --teacher-epochs, default 5) and saves it as <out>/teacher.safetensors.
 *
 * JSON (also written as <out>/results.json): { mode, dataset,
 *   recipe: { trainCount, testCount, curveCount, curveEvery, epochs, batchSize, lr, temperature, alpha, seed, hidden, student },
 *   teacher: { weights, model, trained, accuracy, macroF1, params, flops, imagesPerSecond (inference),
 *              inferenceImagesPerSecond, trainingSeconds and trainingImagesPerSecond (with --train-teacher, else null) },
 *   scratch / kd: { accuracy, macroF1, params, flops, imagesPerSecond (training), inferenceImagesPerSecond,
 *                   seconds, weights, history: [{ epoch, loss, seconds, imagesPerSecond, lr, val? }] },
 *   gainPoints (KD − scratch test accuracy, points), curves: { scratch, kd: [{ epoch, accuracy }] },
 *   files, seconds }
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { TopLevelSpec } from 'vega-lite';
import { dropoutSeed } from '../autograd/ops-dropout.js';
import { GpuLoader, take, type ArrayDataset } from '../data/dataset.js';
import { fashionMnistDataset, fashionMnistDirs } from '../data/node-files.js';
import { svgToPng } from '../kd/node-report.js';
import { plotComparisonBars, renderSvg } from '../kd/plots.js';
import { runTransferRecipe, trainingImagesPerSecond, TRANSFER_RECIPE, type CurvePoint, type TransferStudentReport } from '../kd/transfer-recipe.js';
import type { Module } from '../nn/module.js';
import { saveWeights } from '../nn/node-weights.js';
import { Adam } from '../nn/optim.js';
import { ProgressBar } from '../nn/progress.js';
import { fit } from '../nn/train.js';
import { PACKAGE_ROOT } from './datasets.js';
import { readTeachers, slimLog, temperatureOption, unitInterval, type TeacherFile } from './distill.js';
import { initGpu } from './gpu.js';
import { builtinModel, checkInputs, loadInto, modelMetadata, resolveModel, specModel, type ModelSource } from './model-source.js';
import type { ModelSpec } from './model-spec.js';
import { jsonOption, nonNegativeInt, positiveInt } from './options.js';
import { CliError, Reporter } from './output.js';

/** The teacher the demo uses unless --teacher says otherwise (relative to the package, not the cwd). */
export const DEFAULT_TEACHER = join(PACKAGE_ROOT, 'assets', 'fashion-teacher.safetensors');
/** The model trained by --train-teacher when no teacher file names one. */
const DEFAULT_TEACHER_MODEL = 'mnist-cnn-small';
const INSTALL = 'sudo apt-get install -y dataset-fashion-mnist';

interface Preset {
  trainSize: number;
  epochs: number;
  /** undefined: the whole test set. */
  testSize?: number;
  curveSize: number;
  teacherTrainSize?: number;
  teacherEpochs: number;
}

const PRESETS: Record<'default' | 'quick' | 'full', Preset> = {
  default: { trainSize: TRANSFER_RECIPE.trainCount, epochs: TRANSFER_RECIPE.epochs, curveSize: TRANSFER_RECIPE.curveCount, teacherEpochs: 5 },
  quick: { trainSize: 200, epochs: 3, testSize: 500, curveSize: 500, teacherTrainSize: 2000, teacherEpochs: 1 },
  full: { trainSize: 2000, epochs: 200, curveSize: TRANSFER_RECIPE.curveCount, teacherEpochs: 5 },
};

interface DemoOptions {
  teacher?: string;
  teacherModel?: string;
  seed: number;
  quick?: boolean;
  full?: boolean;
  trainTeacher?: boolean;
  teacherEpochs?: number;
  trainSize?: number;
  epochs?: number;
  testSize?: number;
  curveSize?: number;
  curveEvery?: number;
  temperature: number;
  alpha: number;
  out: string;
  progress: boolean;
  json?: boolean;
}

/** The student MLP as a model spec, so its weights files name it and `kdgpu eval` reads them back. */
function studentSpec(hidden: readonly number[], inputShape: number[], classes: number): ModelSpec {
  return {
    name: `mlp-${hidden.join('-')}`,
    inputShape,
    layers: [{ type: 'flatten' }, ...hidden.flatMap((out) => [{ type: 'linear' as const, out }, { type: 'relu' as const }]), { type: 'linear', out: classes }],
  };
}

function loadFashion(split: 'train' | 'test'): ArrayDataset {
  try {
    return fashionMnistDataset(split);
  } catch (e) {
    if (/not found/.test((e as Error).message)) {
      throw new CliError(`the demo needs Fashion-MNIST, which is not installed (looked in ${fashionMnistDirs().join(', ')}); install it with:  ${INSTALL}`);
    }
    throw new CliError((e as Error).message.replace(/^kdgpu: /, ''));
  }
}

function curvesSpec(curves: { scratch: CurvePoint[]; kd: CurvePoint[] }, title: string): TopLevelSpec {
  const data = [
    ...curves.scratch.map((c) => ({ student: 'scratch (labels only)', ...c })),
    ...curves.kd.map((c) => ({ student: 'distilled (teacher + labels)', ...c })),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 640,
    height: 400,
    data: { values: data },
    mark: { type: 'line', point: { size: 20 } },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false }, axis: { format: '.0%' } },
      color: { field: 'student', type: 'nominal', title: 'student', sort: ['distilled (teacher + labels)', 'scratch (labels only)'], legend: { orient: 'bottom-right', labelLimit: 400 } },
      tooltip: [{ field: 'student' }, { field: 'epoch' }, { field: 'accuracy', format: '.4f' }],
    },
  };
}

/** The documented teacher recipe: Adam 1e-3, batch 128, a seeded shuffle, no test pass. */
async function trainTeacher(src: ModelSource, train: ArrayDataset, epochs: number, seed: number, progress: boolean): Promise<{ model: Module; seconds: number; imagesPerSecond: number }> {
  const t0 = performance.now();
  dropoutSeed(seed);
  const model = src.build({ seed });
  const loader = new GpuLoader(train, { batchSize: 128, shuffle: true, seed });
  const optimizer = new Adam(model.trainableParameters(), { lr: 1e-3 });
  try {
    const { history } = await fit(model, loader, { optimizer, epochs, logEvery: 10, callbacks: progress ? [new ProgressBar({ epochs, batchSize: 128, label: 'teacher' })] : [] });
    return { model, seconds: (performance.now() - t0) / 1000, imagesPerSecond: trainingImagesPerSecond(history) };
  } finally {
    optimizer.dispose();
    loader.dispose();
  }
}

/** The teacher file; one that does not name its model holds the default teacher model. */
function demoTeacher(path: string, teacherModel: string | undefined): TeacherFile {
  try {
    return readTeachers({ teacher: [path], teacherModel, combine: 'logits' })[0];
  } catch (e) {
    if (teacherModel !== undefined || !/does not say which model/.test((e as Error).message)) throw e;
    return readTeachers({ teacher: [path], teacherModel: DEFAULT_TEACHER_MODEL, combine: 'logits' })[0];
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const rate = (v: number | null) => (v === null || !Number.isFinite(v) ? '—' : int(v));

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ')).join('\n');
}

async function demoAction(o: DemoOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  if (o.quick && o.full) throw new CliError('give either --quick or --full, not both');
  const mode = o.quick ? 'quick' : o.full ? 'full' : 'default';
  const preset = PRESETS[mode];
  if (o.teacherEpochs !== undefined && !o.trainTeacher) throw new CliError('--teacher-epochs applies to --train-teacher');

  // The teacher: a weights file (which names its model), or a model to train from it.
  const teacherPath = o.teacher ?? DEFAULT_TEACHER;
  let teacherFile: TeacherFile | undefined;
  let teacherSrc: ModelSource;
  if (o.trainTeacher) {
    const named = existsSync(teacherPath) ? demoTeacher(teacherPath, o.teacherModel).src : undefined;
    if (!named && o.teacher !== undefined) throw new CliError(`teacher file ${o.teacher} does not exist`);
    teacherSrc = named ?? resolveModel({ model: o.teacherModel ?? DEFAULT_TEACHER_MODEL });
  } else {
    if (!existsSync(teacherPath)) {
      throw new CliError(
        o.teacher !== undefined
          ? `teacher file ${o.teacher} does not exist`
          : `the demo's teacher ${teacherPath} is missing; pass --teacher FILE (weights from \`kdgpu train --out\`) or --train-teacher to train one`,
      );
    }
    teacherFile = demoTeacher(teacherPath, o.teacherModel);
    teacherSrc = teacherFile.src;
  }
  if (existsSync(o.out) && !statSync(o.out).isDirectory()) throw new CliError(`--out ${o.out} is a file, expected a folder`);

  const fullTrain = loadFashion('train');
  const fullTest = loadFashion('test');
  checkInputs(teacherSrc, fullTest, 'Fashion-MNIST');
  const trainSize = o.trainSize ?? preset.trainSize;
  const epochs = o.epochs ?? preset.epochs;
  if (trainSize > fullTrain.count) throw new CliError(`--train-size ${trainSize} is more than the ${fullTrain.count} Fashion-MNIST training images`);
  const testSize = o.testSize ?? preset.testSize ?? fullTest.count;
  if (testSize > fullTest.count) throw new CliError(`--test-size ${testSize} is more than the ${fullTest.count} Fashion-MNIST test images`);
  const test = testSize === fullTest.count ? fullTest : take(fullTest, 0, testSize);
  const curveSize = Math.min(o.curveSize ?? preset.curveSize, testSize);
  // About 24 points per curve: evaluating 2,000 images every epoch would cost half as much as the training.
  const curveEvery = o.curveEvery ?? Math.max(1, Math.ceil(epochs / 24));
  const teacherEpochs = o.teacherEpochs ?? preset.teacherEpochs;
  const hidden = TRANSFER_RECIPE.hidden;
  const spec = studentSpec(hidden, fullTrain.sampleShape, fullTrain.classes ?? 10);
  const studentSrc = specModel(spec, spec.name!);
  mkdirSync(o.out, { recursive: true });

  await initGpu(cmd);
  const files: string[] = [];
  let teacher: Module | undefined;
  if (teacherFile) {
    teacher = teacherSrc.build({ seed: 0 });
    try {
      loadInto(teacher, teacherSrc, teacherFile.weights);
    } catch (e) {
      throw new CliError(`teacher ${(e as Error).message.replace(/^kdgpu: /, '')}`);
    }
  }
  out.note(
    `kdgpu demo (${mode}): ${teacherSrc.name} teaches a ${spec.name} student from ${int(trainSize)} labelled Fashion-MNIST images, ` +
      `${epochs} epochs, T=${o.temperature}, alpha=${o.alpha}; a scratch student with the same weights and batches learns from the labels alone`,
  );
  let teacherSeconds: number | null = null;
  let teacherTrainRate: number | null = null;
  let teacherWeights = teacherPath;
  if (!teacher) {
    const tTrain = preset.teacherTrainSize ? take(fullTrain, 0, Math.min(preset.teacherTrainSize, fullTrain.count)) : fullTrain;
    out.note(`training the teacher ${teacherSrc.name} on ${int(tTrain.count)} images for ${teacherEpochs} epoch${teacherEpochs === 1 ? '' : 's'} (Adam 1e-3, batch 128; slow without a GPU)`);
    const r = await trainTeacher(teacherSrc, tTrain, teacherEpochs, o.seed, o.progress);
    teacher = r.model;
    teacherSeconds = r.seconds;
    teacherTrainRate = r.imagesPerSecond;
    teacherWeights = join(o.out, 'teacher.safetensors');
    await saveWeights(teacher, teacherWeights, modelMetadata(teacherSrc));
    files.push(teacherWeights);
  }

  const weightsOf: Record<'scratch' | 'kd', string> = { scratch: join(o.out, 'scratch-student.safetensors'), kd: join(o.out, 'kd-student.safetensors') };
  const r = await runTransferRecipe({
    teacher: teacher!,
    train: fullTrain,
    test,
    trainCount: trainSize,
    curveCount: curveSize,
    curveEvery,
    epochs,
    temperature: o.temperature,
    alpha: o.alpha,
    seed: o.seed,
    student: (seed) => studentSrc.build({ seed }),
    studentName: spec.name,
    logEvery: 0,
    callbacks: (role) => (o.progress ? [new ProgressBar({ epochs, batchSize: TRANSFER_RECIPE.batchSize, label: role === 'kd' ? 'distilled student' : 'scratch student' })] : []),
    onStage: (stage) =>
      out.note(
        stage === 'teacher'
          ? `evaluating the teacher on ${int(test.count)} test images`
          : stage === 'scratch'
            ? 'training the scratch student (labels only)'
            : `training the distilled student (alpha=${o.alpha} on the teacher's soft targets at T=${o.temperature})`,
      ),
    onModel: async (role, model) => {
      await saveWeights(model, weightsOf[role], modelMetadata(studentSrc));
      files.push(weightsOf[role]);
    },
  });

  // Plots: both students' curves, and the three accuracies as bars.
  const writePlot = (name: string, svg: string) => {
    for (const [file, data] of [
      [`${name}.svg`, svg],
      [`${name}.png`, svgToPng(svg, { scale: 2 })],
    ] as const) {
      const p = join(o.out, file);
      writeFileSync(p, data);
      files.push(p);
    }
  };
  if (r.curves.scratch.length > 0) {
    writePlot('curves', await renderSvg(curvesSpec(r.curves, `Fashion-MNIST, ${int(trainSize)} labelled images: test accuracy (first ${int(curveSize)} test images)`)));
  }
  writePlot(
    'accuracy',
    await plotComparisonBars(
      [
        { name: 'teacher', accuracy: r.teacher.accuracy },
        { name: 'scratch student', accuracy: r.scratch.test.accuracy },
        { name: 'distilled student', accuracy: r.kd.test.accuracy },
      ],
      { title: `Test accuracy on ${int(test.count)} Fashion-MNIST images (teacher: ${teacherSrc.name})` },
    ),
  );

  const student = (s: TransferStudentReport, role: 'scratch' | 'kd') => ({
    accuracy: s.test.accuracy,
    macroF1: s.test.macroF1,
    params: s.params,
    flops: s.flops,
    imagesPerSecond: s.imagesPerSecond,
    inferenceImagesPerSecond: s.inferenceImagesPerSecond,
    seconds: s.seconds,
    weights: weightsOf[role],
    history: s.history.map(slimLog),
  });
  const resultsPath = join(o.out, 'results.json');
  files.push(resultsPath);
  const doc = {
    mode,
    dataset: 'fashion-mnist',
    recipe: { ...r.config, hidden: [...hidden] },
    teacher: {
      weights: teacherWeights,
      model: teacherSrc.name,
      trained: Boolean(o.trainTeacher),
      accuracy: r.teacher.accuracy,
      macroF1: r.teacher.macroF1,
      params: r.teacher.params,
      flops: r.teacher.flops,
      imagesPerSecond: r.teacher.imagesPerSecond,
      inferenceImagesPerSecond: r.teacher.inferenceImagesPerSecond,
      trainingSeconds: teacherSeconds,
      trainingImagesPerSecond: teacherTrainRate,
    },
    scratch: student(r.scratch, 'scratch'),
    kd: student(r.kd, 'kd'),
    gainPoints: r.gainPoints,
    curves: r.curves,
    files,
    seconds: (performance.now() - t0) / 1000,
  };
  writeFileSync(resultsPath, `${JSON.stringify(doc, null, 2)}\n`);
  out.result(doc);

  const rows = [
    ['', 'test accuracy', 'parameters', 'FLOPs', 'train img/s', 'inference img/s'],
    [`teacher (${teacherSrc.name})`, pct(r.teacher.accuracy), int(r.teacher.params), int(r.teacher.flops), rate(teacherTrainRate), rate(r.teacher.inferenceImagesPerSecond)],
    [`scratch student (${spec.name})`, pct(r.scratch.test.accuracy), int(r.scratch.params), int(r.scratch.flops), rate(r.scratch.imagesPerSecond), rate(r.scratch.inferenceImagesPerSecond)],
    [`distilled student (${spec.name})`, pct(r.kd.test.accuracy), int(r.kd.params), int(r.kd.flops), rate(r.kd.imagesPerSecond), rate(r.kd.inferenceImagesPerSecond)],
  ];
  const gain = r.gainPoints;
  out.say(
    [
      '',
      `Fashion-MNIST test set (${int(test.count)} images); students trained on ${int(trainSize)} labelled images for ${epochs} epochs`,
      table(rows),
      '',
      `KD − scratch: ${gain >= 0 ? '+' : ''}${gain.toFixed(2)} points (${pct(r.kd.test.accuracy)} vs ${pct(r.scratch.test.accuracy)}), ` +
        `with ${(r.teacher.params / r.kd.params).toFixed(1)}× fewer parameters than the teacher`,
      `FLOPs: the TensorFlow profiler's count for one image (kdgpu summary). Wrote ${files.length} files to ${o.out} (curves.png, accuracy.png, results.json, weights)`,
      `in ${doc.seconds.toFixed(0)} s`,
    ].join('\n'),
  );
}

export default function demoCommand(): Command {
  return new Command('demo')
    .description('the distillation demo: a teacher teaches a small student from 1,000 labelled Fashion-MNIST images, against the same student trained alone')
    .option('--teacher <file>', 'teacher weights whose metadata names the model (default: assets/fashion-teacher.safetensors in the package)')
    .option('--teacher-model <name>', 'the teacher\'s built-in model, when its file does not name it')
    .option('--train-teacher', `first retrain the teacher (the model its file names, else ${DEFAULT_TEACHER_MODEL}; all training images, Adam 1e-3, batch 128), saved as <out>/teacher.safetensors`)
    .option('--teacher-epochs <n>', 'epochs of --train-teacher (default 5; 1 with --quick)', positiveInt)
    .option('--quick', 'a tiny run in seconds: 200 labelled images, 3 epochs, 500 test images')
    .option('--full', 'the full-size recipe for a GPU: 2,000 labelled images, 200 epochs')
    .option('--seed <n>', 'seed of the students\' weights (both the same), the shuffle and dropout', nonNegativeInt, 0)
    .option('--out <dir>', 'folder for results.json, the plots and the weights', 'kdgpu-demo')
    .addOption(new Option('--train-size <n>', 'labelled training images (default 1,000; --quick 200; --full 2,000)').argParser(positiveInt))
    .addOption(new Option('--epochs <n>', 'epochs of each student (default 120; --quick 3; --full 200)').argParser(positiveInt))
    .addOption(new Option('--test-size <n>', 'test images for the final metrics (default all 10,000; --quick 500)').argParser(positiveInt))
    .addOption(new Option('--curve-size <n>', 'test images of the accuracy curves (default 2,000)').argParser(nonNegativeInt))
    .addOption(new Option('--curve-every <n>', 'evaluate the curves every n epochs (default: about 24 points per curve; 5 for 120 epochs)').argParser(positiveInt))
    .addOption(temperatureOption(TRANSFER_RECIPE.temperature))
    .option('--alpha <x>', 'weight of the distillation term in [0, 1]', unitInterval, TRANSFER_RECIPE.alpha)
    .option('--no-progress', 'no progress bars')
    .addOption(jsonOption())
    .action((opts: DemoOptions, cmd: Command) => demoAction(opts, cmd));
}
