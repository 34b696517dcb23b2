/**
 * `kdgpu demo`: the distillation demo — where knowledge distillation pays. A trained Fashion-MNIST
 * teacher (assets/fashion-teacher.safetensors in the package, or --teacher FILE) teaches a
 * 784-256-256-10 MLP from only 1,000 labelled images for 120 epochs (Adam 1e-3, batch 256, T=4,
 * alpha=0.9 on the distillation term); the same MLP trained on the labels alone, from the same
 * initial weights and with the same batches, is the baseline (kd.runTransferRecipe; plots from
 * kd.plotTransferCurves and kd.plotComparisonBars, written by demo-report.ts). Prints test
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
 *   teacher: { weights, model, trained, accuracy, macroF1, params, flops, inferenceImagesPerSecond,
 *              trainingSeconds and trainingImagesPerSecond (with --train-teacher, else null) },
 *   scratch / kd: { accuracy, macroF1, params, flops, imagesPerSecond (training), inferenceImagesPerSecond,
 *                   seconds, weights, history: [{ epoch, loss, seconds, imagesPerSecond, lr, val? }] },
 *   gainPoints (KD − scratch test accuracy, points), curves: { scratch, kd: [{ epoch, accuracy }] },
 *   files, seconds }
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { fashionMnistDataset, nn, ProgressBar, runTransferRecipe, saveWeights, take, trainingImagesPerSecond, TRANSFER_RECIPE, transferStudentSpec, type ArrayDataset } from '../index.js';
import { PACKAGE_ROOT } from './datasets.js';
import { demoSummary, int, writeDemoPlots, writeDemoResults, type DemoRun } from './demo-report.js';
import { initGpu } from './gpu.js';
import { resolveModel } from './model-source.js';
import { jsonOption, nonNegativeInt, positiveInt } from './options.js';
import { CliError, plain, Reporter } from './output.js';
import { readTeachers, temperatureOption, unitInterval, type TeacherFile } from './shared.js';
import { checkOutputFolder } from './outputs.js';

/** The teacher the demo uses unless --teacher says otherwise (relative to the package, not the cwd). */
export const DEFAULT_TEACHER = join(PACKAGE_ROOT, 'assets', 'fashion-teacher.safetensors');
/** What the demo writes into its --out folder. */
const DEMO_FILES = ['results.json', 'curves.svg', 'curves.png', 'accuracy.svg', 'accuracy.png', 'scratch-student.safetensors', 'kd-student.safetensors'];
/** The model of a teacher file that names none, and the one --train-teacher trains then. */
const DEFAULT_TEACHER_MODEL = 'mnist-cnn-small';

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

/** A Fashion-MNIST split; the library's error says where it looked and how to install it. */
function loadFashion(split: 'train' | 'test'): ArrayDataset {
  try {
    return fashionMnistDataset(split);
  } catch (e) {
    throw new CliError(`the demo needs Fashion-MNIST: ${plain(e)}`);
  }
}

/** The teacher: a weights file (naming its model, else the default one), or a model to train (--train-teacher). */
function demoTeacher(o: DemoOptions): { file?: TeacherFile; src: nn.ModelSource; path: string } {
  const path = o.teacher ?? DEFAULT_TEACHER;
  const read = () => readTeachers({ teacher: [path], teacherModel: o.teacherModel, combine: 'logits' }, '--teacher', DEFAULT_TEACHER_MODEL)[0];
  if (o.trainTeacher) {
    if (existsSync(path)) return { src: read().src, path };
    if (o.teacher !== undefined) throw new CliError(`teacher file ${o.teacher} does not exist`);
    return { src: resolveModel({ model: o.teacherModel ?? DEFAULT_TEACHER_MODEL }), path };
  }
  if (!existsSync(path)) {
    throw new CliError(
      o.teacher !== undefined
        ? `teacher file ${o.teacher} does not exist`
        : `the demo's teacher ${path} is missing; pass --teacher FILE (weights from \`kdgpu train --out\`) or --train-teacher to train one`,
    );
  }
  const file = read();
  return { file, src: file.src, path };
}

async function demoAction(o: DemoOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  if (o.quick && o.full) throw new CliError('give either --quick or --full, not both');
  const mode = o.quick ? 'quick' : o.full ? 'full' : 'default';
  const preset = PRESETS[mode];
  if (o.teacherEpochs !== undefined && !o.trainTeacher) throw new CliError('--teacher-epochs applies to --train-teacher');
  const t = demoTeacher(o);
  checkOutputFolder(o.out, '--out', o.trainTeacher ? [...DEMO_FILES, 'teacher.safetensors'] : DEMO_FILES, [{ path: t.path, option: '--teacher' }]);

  const fullTrain = loadFashion('train');
  const fullTest = loadFashion('test');
  nn.checkInputs(t.src, fullTest, 'Fashion-MNIST');
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
  // The recipe's own student, as a spec so its weights files say what they hold.
  const studentSrc = nn.specModel(transferStudentSpec(fullTrain.sampleShape, fullTrain.classes ?? 10, TRANSFER_RECIPE.hidden), 'student');
  mkdirSync(o.out, { recursive: true });

  await initGpu(cmd);
  const run: DemoRun = {
    mode,
    out: o.out,
    teacher: { weights: t.path, model: t.src.name, trained: Boolean(o.trainTeacher), trainingSeconds: null, trainingImagesPerSecond: null },
    studentWeights: { scratch: join(o.out, 'scratch-student.safetensors'), kd: join(o.out, 'kd-student.safetensors') },
    files: [],
    t0,
  };
  let teacher: nn.Module;
  if (t.file) {
    teacher = t.src.build({ seed: 0 });
    try {
      if (t.file.weights) nn.loadInto(teacher, t.src, t.file.weights);
    } catch (e) {
      throw new CliError(`teacher ${plain(e)}`);
    }
  }
  out.note(
    `kdgpu demo (${mode}): ${t.src.name} teaches a ${studentSrc.name} student from ${int(trainSize)} labelled Fashion-MNIST images, ` +
      `${epochs} epochs, T=${o.temperature}, alpha=${o.alpha}; a scratch student with the same weights and batches learns from the labels alone`,
  );
  if (!t.file) {
    const tTrain = preset.teacherTrainSize ? take(fullTrain, 0, Math.min(preset.teacherTrainSize, fullTrain.count)) : fullTrain;
    out.note(`training the teacher ${t.src.name} on ${int(tTrain.count)} images for ${teacherEpochs} epoch${teacherEpochs === 1 ? '' : 's'} (Adam 1e-3, batch 128; slow without a GPU)`);
    const tt = performance.now();
    teacher = t.src.build({ seed: o.seed });
    const callbacks = o.progress ? [new ProgressBar({ epochs: teacherEpochs, batchSize: 128, label: 'teacher' })] : [];
    // The documented teacher recipe: Adam 1e-3, batch 128, a seeded shuffle, no test pass.
    const { history } = await nn.trainClassifier(teacher, tTrain, { epochs: teacherEpochs, batchSize: 128, optimizer: 'adam', lr: 1e-3, seed: o.seed, logEvery: 10, callbacks });
    run.teacher.trainingSeconds = (performance.now() - tt) / 1000;
    run.teacher.trainingImagesPerSecond = trainingImagesPerSecond(history);
    run.teacher.weights = join(o.out, 'teacher.safetensors');
    await saveWeights(teacher, run.teacher.weights, nn.modelMetadata(t.src));
    run.files.push(run.teacher.weights);
  }

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
      await saveWeights(model, run.studentWeights[role], nn.modelMetadata(studentSrc));
      run.files.push(run.studentWeights[role]);
    },
  });
  await writeDemoPlots(run, r);
  const doc = writeDemoResults(run, r);
  out.result(doc);
  out.say(demoSummary(run, r, doc.seconds));
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
