/**
 * What the training commands share: option groups (teacher, student, data, run, loss weights),
 * reading teachers and students before the GPU starts, the train/validation/test split, and the
 * JSON shapes of histories and test metrics.
 */
import { Command, Option } from 'commander';
import { checkSplits, kdWeights, nn, take, Teacher, type ArrayDataset, type DistillConfig, type EnsembleCombine, type RunRecord } from '../index.js';
import { DATASET_NAMES, firstN, loadSplit, ownValidation, resolveDataset, type ImageDataOptions } from './datasets.js';
import { resolveModel, resolveModelFile, type ModelFile } from './model-source.js';
import { choiceOption, imageFolderOptions, maxParamsOption, nonNegativeInt, numberIn, onnxInputOptions, positiveInt, positiveNumber, type OnnxInputFlags } from './options.js';
import { CliError, plain } from './output.js';

// ---- option groups ---------------------------------------------------------------------------

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
export const unitInterval = numberIn('a number in [0, 1]', 0, 1);

export interface TeacherOptions extends OnnxInputFlags {
  teacher?: string[];
  teacherModel?: string;
  teacherSpec?: string;
  combine: EnsembleCombine;
}

export interface StudentOptions {
  student?: string;
  studentSpec?: string;
  /** --max-params: the bound on a spec student's parameters. */
  maxParams?: number;
}

export interface DataOptions extends ImageDataOptions {
  dataset: string;
  trainSize?: number;
  valSize: number;
  /** 0 (where a command allows it): no test set. */
  testSize?: number;
}

export interface RunOptions {
  epochs: number;
  batch: number;
  lr: number;
  optimizer: nn.OptimizerName;
  seed: number;
  logEvery: number;
  progress: boolean;
  json?: boolean;
}

export interface KdWeightOptions {
  temperature: number;
  alpha?: number;
  kdWeight?: number;
  ceWeight?: number;
  form: 'kl' | 'ce';
}

export function addTeacherOptions(c: Command): Command {
  return c
    .option('--teacher <file>', 'trained teacher weights (safetensors, e.g. from `kdgpu train --out`; Keras .h5), or an ONNX model (.onnx); repeat for an ensemble', collect)
    .option('--teacher-model <name>', 'built-in model of the teacher(s) (default: the one named in each weights file)')
    .option('--teacher-spec <file>', 'JSON model spec of the teacher(s) (default: the one stored in each weights file)')
    .addOption(choiceOption('--combine <how>', 'how an ensemble combines its members: average the logits, or the probabilities at T', ['logits', 'probs'], 'logits'))
    .addOption(onnxInputOptions()[0])
    .addOption(onnxInputOptions()[1])
    .addOption(onnxInputOptions()[2]);
}

export function addStudentOptions(c: Command): Command {
  return c
    .option('--student <name>', 'built-in student model (see `kdgpu summary --help`)')
    .option('--student-spec <file>', 'JSON model spec of the student (see src/nn/model-spec.ts)')
    .addOption(maxParamsOption());
}

export const DATASET_HELP = `${DATASET_NAMES.join(', ')}, a folder of IDX files or CIFAR-10 batches, or images:<annotations.csv> (an image folder)`;

/** --dataset, --train-size, --val-size, --test-size (`testSize`: a command's own) and the image-folder options. */
export function addDataOptions(c: Command, testSize = new Option('--test-size <n>', 'final metrics on the first n test images (default: all)').argParser(positiveInt)): Command {
  c.option('--dataset <name|path>', DATASET_HELP, 'fashion-mnist')
    .option('--train-size <n>', 'train on the first n training images (default: all but --val-size)', positiveInt)
    .option('--val-size <n>', "validate after each epoch on the last n training images (default 0: an image folder's validation partition, if any)", nonNegativeInt, 0)
    .addOption(testSize);
  for (const opt of imageFolderOptions()) c.addOption(opt);
  return c;
}

export function addRunOptions(c: Command, opts: { seed?: boolean } = {}): Command {
  c.option('--epochs <n>', 'epochs to train', positiveInt, 5)
    .option('--batch <n>', 'batch size', positiveInt, 256)
    .option('--lr <x>', 'learning rate', positiveNumber, 1e-3)
    .addOption(choiceOption('--optimizer <name>', 'optimizer (PyTorch defaults)', nn.OPTIMIZER_NAMES, 'adam'));
  if (opts.seed ?? true) c.option('--seed <n>', 'seed of the student\'s weights, the shuffle and dropout', nonNegativeInt, 0);
  return c
    .option('--log-every <n>', 'steps between loss readbacks for the progress bar (0: epoch ends only)', nonNegativeInt, 10)
    .option('--no-progress', 'no progress bar');
}

/** -T / --temperature (> 0). */
export const temperatureOption = (dflt?: number) => {
  const opt = new Option('-T, --temperature <x>', 'softmax temperature of the soft targets (> 0)').argParser(positiveNumber);
  return dflt === undefined ? opt : opt.default(dflt);
};


// ---- teachers, students, data ----------------------------------------------------------------

/** A --teacher file: its model, and the weights to load (none for an ONNX file). */
export type TeacherFile = ModelFile;

/** Reads and resolves every --teacher file (CPU only); `fallback` is the model of a file that names none. */
export function readTeachers(o: TeacherOptions & OnnxInputFlags, option = '--teacher', fallback?: string): TeacherFile[] {
  const files = o.teacher ?? [];
  if (files.length === 0) throw new CliError(`give ${option} FILE (trained teacher weights, e.g. from \`kdgpu train --out\`, or an ONNX model)`);
  return files.map((path) => {
    try {
      return resolveModelFile(path, { model: o.teacherModel, modelSpec: o.teacherSpec, onnxScale: o.onnxScale, onnxMean: o.onnxMean, onnxStd: o.onnxStd }, { model: '--teacher-model', spec: '--teacher-spec' }, 'teacher file', fallback);
    } catch (e) {
      if (e instanceof CliError) throw new CliError(`teacher ${path}: ${plain(e)}`);
      throw e;
    }
  });
}

/** Builds the teacher models and loads their weights (GPU): one Teacher, an ensemble for several files. */
export function loadTeachers(files: TeacherFile[], combine: EnsembleCombine, classes?: number): Teacher {
  const models = files.map((f) => {
    const m = f.src.build({ seed: 0, classes });
    try {
      if (f.weights) nn.loadInto(m, f.src, f.weights);
    } catch (e) {
      throw new CliError(`teacher ${plain(e)}`);
    }
    return m;
  });
  return new Teacher(models.length === 1 ? models[0] : models, { combine });
}

export function teacherLabel(files: TeacherFile[]): string {
  return files.length === 1 ? files[0].src.name : `ensemble of ${files.length} (${[...new Set(files.map((f) => f.src.name))].join(', ')})`;
}

export function resolveStudent(o: StudentOptions, what = 'student'): nn.ModelSource {
  if (o.student === undefined && o.studentSpec === undefined) throw new CliError(`give --${what} NAME (a built-in model) or --${what}-spec FILE`);
  return resolveModel({ model: o.student, modelSpec: o.studentSpec, maxParams: o.maxParams }, undefined, { model: `--${what}`, spec: `--${what}-spec` });
}

export interface SplitData {
  name: string;
  /** The dataset's class count (built-in models are built with it). */
  classes: number;
  train: ArrayDataset;
  val?: ArrayDataset;
  /** Absent when --test-size is 0. */
  test?: ArrayDataset;
}

/** Train (first --train-size), validation (last --val-size training images) and test sets; every model must fit the images. */
export function splitData(o: DataOptions, models: nn.ModelSource[]): SplitData {
  const ds = resolveDataset(o.dataset, o);
  const full = loadSplit(ds, 'train');
  for (const m of models) nn.checkInputs(m, full, ds.name);
  const trainSize = o.trainSize ?? full.count - o.valSize;
  if (trainSize < 1 || trainSize + o.valSize > full.count) {
    throw new CliError(`--train-size ${trainSize} plus --val-size ${o.valSize} is more than the ${full.count} images of ${ds.name}'s training set`);
  }
  const d = {
    name: ds.name,
    classes: ds.classNames.length,
    train: take(full, 0, trainSize),
    val: o.valSize > 0 ? take(full, full.count - o.valSize, o.valSize) : ownValidation(ds),
    test: o.testSize === 0 ? undefined : firstN(loadSplit(ds, 'test'), o.testSize, '--test-size', `${ds.name} test set`),
  };
  // Every split is checked now, before training, so a bad test set cannot waste a finished run.
  checkSplits([['train', d.train], ['validation', d.val], ['test', d.test]], d.classes, ds.name);
  return d;
}

/** splitData for commands that always evaluate (their --test-size is never 0). */
export function splitWithTest(o: DataOptions, models: nn.ModelSource[]): SplitData & { test: ArrayDataset } {
  const d = splitData(o, models);
  if (!d.test) throw new CliError('this command needs a test set; --test-size must be at least 1');
  return { ...d, test: d.test };
}

/** The dataset fields of a command's JSON. */
export const dataFields = (d: SplitData) => ({ dataset: d.name, trainSize: d.train.count, valSize: d.val?.count ?? 0, testSize: d.test?.count ?? 0 });

/** The teacher fields of a command's JSON. */
export const teacherFields = (files: TeacherFile[], combine: EnsembleCombine) => ({ teachers: files.map((t) => ({ weights: t.path, model: t.src.name })), combine });

/** The loss weights: alpha (default 0.5) or --kd-weight and --ce-weight together; kd.kdWeights checks the values before the GPU starts. */
export function lossWeights(o: KdWeightOptions): Pick<DistillConfig, 'alpha' | 'weights'> & { kd: number; ce: number } {
  if ((o.kdWeight === undefined) !== (o.ceWeight === undefined)) throw new CliError('give --kd-weight and --ce-weight together');
  if (o.kdWeight !== undefined && o.alpha !== undefined) throw new CliError('give either --alpha or --kd-weight with --ce-weight, not both');
  const cfg = o.kdWeight !== undefined ? { weights: { kd: o.kdWeight, ce: o.ceWeight! } } : { alpha: o.alpha ?? 0.5 };
  return { ...cfg, ...kdWeights(cfg) };
}

/** An epoch's log as the commands' JSON gives it. */
export const slimLog = (l: nn.EpochLog) => ({
  epoch: l.epoch,
  loss: l.loss,
  seconds: l.seconds,
  imagesPerSecond: l.imagesPerSecond,
  lr: l.lr,
  ...(l.val ? { val: { loss: l.val.loss, accuracy: l.val.accuracy, macroF1: l.val.macroF1 } } : {}),
});

export const slimTest = (r: RunRecord) => ({ count: Number(r.config.testCount), accuracy: r.test.accuracy, macroF1: r.test.macroF1, perClassAccuracy: r.test.perClassAccuracy });

export const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
