/**
 * `kdgpu distill`: distills a trained teacher (or an ensemble of them, or a teacher → assistant
 * chain) into a student, with kd.distill / kd.distillChain:
 *   loss = alpha · T²·KL(teacher ‖ student) + (1 − alpha) · CE(labels)   (alpha weighs the distillation term)
 * or `--kd-weight W --ce-weight W` for independent weights; `--hidden cosine|mse` adds a
 * hidden-representation term (for mse, a linear or 1×1-conv regressor is trained with the student
 * when the two representations differ in width).
 *
 * JSON: { teachers: [{ weights, model }], combine, teacherTest: { count, accuracy, macroF1 } | null,
 *         student, assistant (model name or null), dataset, trainSize, valSize, testSize, epochs,
 *         batch, optimizer, lr, seed, temperature, alpha (null with --kd-weight/--ce-weight),
 *         kdWeight, ceWeight, form, hidden: { kind, weight, studentTap, teacherTap, regressor } | null,
 *         history: [{ epoch, loss, seconds, imagesPerSecond, lr, val?: { loss, accuracy, macroF1 } }],
 *         test: { count, accuracy, macroF1, perClassAccuracy },
 *         assistantRun: { history, test, out } | null, hashes: { data, teacher }, seconds, out }
 *
 * This file also holds the option groups and loaders that `kdgpu sweep` and `kdgpu demo` share.
 */
import { Command, Option } from 'commander';
import { zeros } from '../autograd/creation.js';
import { noGrad } from '../autograd/graph.js';
import { Random } from '../autograd/random.js';
import { tidy } from '../autograd/scope.js';
import { take, type ArrayDataset } from '../data/dataset.js';
import { Teacher, type EnsembleCombine } from '../kd/teacher.js';
import type { RunRecord } from '../kd/types.js';
import { distill, distillChain, type DistillConfig, type HiddenLossConfig, type OptimizerName } from '../kd/workflows.js';
import { Conv2d } from '../nn/conv-layers.js';
import { forwardWithHidden } from '../nn/hidden.js';
import { Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { saveWeights } from '../nn/node-weights.js';
import { ProgressBar } from '../nn/progress.js';
import { evaluate, type EpochLog } from '../nn/train.js';
import { checkWritable } from './checkpoint-files.js';
import { DATASET_NAMES, firstN, loadSplit, ownValidation, resolveDataset, type ImageDataOptions } from './datasets.js';
import { initGpu } from './gpu.js';
import { checkInputs, loadInto, modelMetadata, readWeightsFile, resolveModel, type ModelSource, type WeightsFile } from './model-source.js';
import { choiceOption, imageFolderOptions, jsonOption, nonNegativeInt, numberIn, positiveInt, positiveNumber } from './options.js';
import { CliError, Reporter } from './output.js';

// ---- shared option groups ------------------------------------------------------------------

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
export const unitInterval = numberIn('a number in [0, 1]', 0, 1);

export interface TeacherOptions {
  teacher?: string[];
  teacherModel?: string;
  teacherSpec?: string;
  combine: EnsembleCombine;
}

export interface StudentOptions {
  student?: string;
  studentSpec?: string;
}

export interface DataOptions extends ImageDataOptions {
  dataset: string;
  trainSize?: number;
  valSize: number;
  testSize?: number;
}

export interface RunOptions {
  epochs: number;
  batch: number;
  lr: number;
  optimizer: OptimizerName;
  seed: number;
  logEvery: number;
  progress: boolean;
  json?: boolean;
}

export function addTeacherOptions(c: Command): Command {
  return c
    .option('--teacher <file>', 'trained teacher weights (safetensors, e.g. from `kdgpu train --out`); repeat for an ensemble', collect)
    .option('--teacher-model <name>', 'built-in model of the teacher(s) (default: the one named in each weights file)')
    .option('--teacher-spec <file>', 'JSON model spec of the teacher(s) (default: the one stored in each weights file)')
    .addOption(choiceOption('--combine <how>', 'how an ensemble combines its members: average the logits, or the probabilities at T', ['logits', 'probs'], 'logits'));
}

export function addStudentOptions(c: Command): Command {
  return c.option('--student <name>', 'built-in student model (see `kdgpu summary --help`)').option('--student-spec <file>', 'JSON model spec of the student (see src/cli/model-spec.ts)');
}

export function addDataOptions(c: Command): Command {
  c.option('--dataset <name|path>', `${DATASET_NAMES.join(', ')}, a folder of IDX files or CIFAR-10 batches, or images:<annotations.csv> (an image folder)`, 'fashion-mnist')
    .option('--train-size <n>', 'train on the first n training images (default: all but --val-size)', positiveInt)
    .option('--val-size <n>', "validate after each epoch on the last n training images (default 0: an image folder's validation partition, if any)", nonNegativeInt, 0)
    .option('--test-size <n>', 'final metrics on the first n test images (default: all)', positiveInt);
  for (const opt of imageFolderOptions()) c.addOption(opt);
  return c;
}

export function addRunOptions(c: Command, opts: { seed?: boolean } = {}): Command {
  c.option('--epochs <n>', 'epochs to train', positiveInt, 5)
    .option('--batch <n>', 'batch size', positiveInt, 256)
    .option('--lr <x>', 'learning rate', positiveNumber, 1e-3)
    .addOption(choiceOption('--optimizer <name>', 'optimizer (PyTorch defaults)', ['adam', 'adamw', 'sgd'], 'adam'));
  if (opts.seed ?? true) c.option('--seed <n>', 'seed of the student\'s weights, the shuffle and dropout', nonNegativeInt, 0);
  return c
    .option('--log-every <n>', 'steps between loss readbacks for the progress bar (0: epoch ends only)', nonNegativeInt, 10)
    .option('--no-progress', 'no progress bar');
}

// ---- teachers, students, data ----------------------------------------------------------------

export interface TeacherFile {
  path: string;
  src: ModelSource;
  weights: WeightsFile;
}

/** Reads and resolves every --teacher file (CPU only: errors come before the GPU starts). */
export function readTeachers(o: TeacherOptions, option = '--teacher'): TeacherFile[] {
  const files = o.teacher ?? [];
  if (files.length === 0) throw new CliError(`give ${option} FILE (trained teacher weights, e.g. from \`kdgpu train --out\`)`);
  return files.map((path) => {
    let weights: WeightsFile;
    try {
      weights = readWeightsFile(path);
    } catch (e) {
      throw new CliError((e as Error).message.replace(/^kdgpu: /, '').replace(/^weights file /, 'teacher file '));
    }
    try {
      return { path, src: resolveModel({ model: o.teacherModel, modelSpec: o.teacherSpec }, weights.metadata), weights };
    } catch (e) {
      const msg = (e as Error).message.replace(/^kdgpu: /, '').replace(/--model NAME or --model-spec FILE/, '--teacher-model NAME or --teacher-spec FILE').replace(/give either --model or --model-spec/, 'give either --teacher-model or --teacher-spec');
      throw new CliError(`teacher ${path}: ${msg}`);
    }
  });
}

/** Builds the teacher models and loads their weights (GPU): one Teacher, an ensemble for several files. */
export function loadTeachers(files: TeacherFile[], combine: EnsembleCombine, classes?: number): Teacher {
  const models = files.map((f) => {
    const m = f.src.build({ seed: 0, classes });
    try {
      loadInto(m, f.src, f.weights);
    } catch (e) {
      throw new CliError(`teacher ${(e as Error).message.replace(/^kdgpu: /, '')}`);
    }
    return m;
  });
  return new Teacher(models.length === 1 ? models[0] : models, { combine });
}

export function teacherLabel(files: TeacherFile[]): string {
  return files.length === 1 ? files[0].src.name : `ensemble of ${files.length} (${[...new Set(files.map((f) => f.src.name))].join(', ')})`;
}

export function resolveStudent(o: StudentOptions, what = 'student'): ModelSource {
  if (o.student === undefined && o.studentSpec === undefined) throw new CliError(`give --${what} NAME (a built-in model) or --${what}-spec FILE`);
  try {
    return resolveModel({ model: o.student, modelSpec: o.studentSpec });
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^kdgpu: /, '').replace('give either --model or --model-spec', `give either --${what} or --${what}-spec`));
  }
}

export interface SplitData {
  name: string;
  /** The dataset's class count (built-in models are built with it). */
  classes: number;
  train: ArrayDataset;
  val?: ArrayDataset;
  test: ArrayDataset;
}

/** Train (first --train-size), validation (last --val-size training images) and test sets. */
export function splitData(o: DataOptions, models: ModelSource[]): SplitData {
  const ds = resolveDataset(o.dataset, o);
  const full = loadSplit(ds, 'train');
  for (const m of models) checkInputs(m, full, ds.name);
  const trainSize = o.trainSize ?? full.count - o.valSize;
  if (trainSize < 1 || trainSize + o.valSize > full.count) {
    throw new CliError(`--train-size ${trainSize} plus --val-size ${o.valSize} is more than the ${full.count} images of ${ds.name}'s training set`);
  }
  return {
    name: ds.name,
    classes: ds.classNames.length,
    train: take(full, 0, trainSize),
    val: o.valSize > 0 ? take(full, full.count - o.valSize, o.valSize) : ownValidation(ds),
    test: firstN(loadSplit(ds, 'test'), o.testSize, '--test-size', `${ds.name} test set`),
  };
}

export interface KdWeightOptions {
  temperature: number;
  alpha?: number;
  kdWeight?: number;
  ceWeight?: number;
  form: 'kl' | 'ce';
}

/** The loss weights: alpha (default 0.5) or --kd-weight and --ce-weight together. */
export function lossWeights(o: KdWeightOptions): Pick<DistillConfig, 'alpha' | 'weights'> & { kd: number; ce: number } {
  if ((o.kdWeight === undefined) !== (o.ceWeight === undefined)) throw new CliError('give --kd-weight and --ce-weight together');
  if (o.kdWeight !== undefined && o.ceWeight !== undefined) {
    if (o.alpha !== undefined) throw new CliError('give either --alpha or --kd-weight with --ce-weight, not both');
    if (o.kdWeight === 0 && o.ceWeight === 0) throw new CliError('--kd-weight and --ce-weight are both 0; nothing to train on');
    return { weights: { kd: o.kdWeight, ce: o.ceWeight }, kd: o.kdWeight, ce: o.ceWeight };
  }
  const alpha = o.alpha ?? 0.5;
  return { alpha, kd: alpha, ce: 1 - alpha };
}

export const slimLog = (l: EpochLog) => ({
  epoch: l.epoch,
  loss: l.loss,
  seconds: l.seconds,
  imagesPerSecond: l.imagesPerSecond,
  lr: l.lr,
  ...(l.val ? { val: { loss: l.val.loss, accuracy: l.val.accuracy, macroF1: l.val.macroF1 } } : {}),
});

export const slimTest = (r: RunRecord) => ({ count: Number(r.config.testCount), accuracy: r.test.accuracy, macroF1: r.test.macroF1, perClassAccuracy: r.test.perClassAccuracy });

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Output shape (without the batch) of a tap, probed with one zero sample. */
function tapShape(model: Module, tap: string, inputShape: number[]): number[] {
  const was = model.training;
  model.eval();
  try {
    return noGrad(() => tidy(() => forwardWithHidden(model, zeros([1, ...inputShape]), tap).hidden.shape.slice(1)));
  } finally {
    model.train(was);
  }
}

/**
 * Checks the taps on the real models and, for mse, builds the regressor that maps the student's
 * representation to the teacher's shape: none when they already match, Linear for flat ones,
 * a 1×1 Conv2d for feature maps of the same height and width.
 */
function hiddenConfig(o: DistillOptions, student: Module, teacher: Teacher, inputShape: number[]): { cfg: HiddenLossConfig; regressor: string | null } | undefined {
  if (!o.hidden) return undefined;
  const s = tapShape(student, o.studentTap!, inputShape);
  const t = tapShape(teacher.members[0], o.teacherTap!, inputShape);
  const cfg: HiddenLossConfig = { kind: o.hidden, weight: o.hiddenWeight, studentTap: o.studentTap!, teacherTap: o.teacherTap! };
  if (o.hidden === 'cosine') {
    // cosineHiddenLoss average-pools the wider representation down to the narrower width.
    const [ws, wt] = [s, t].map((x) => x.reduce((p, d) => p * d, 1));
    if (Math.max(ws, wt) % Math.min(ws, wt) !== 0) {
      throw new CliError(`--hidden cosine: the student's tap ${o.studentTap} gives ${ws} values, the teacher's tap ${o.teacherTap} ${wt}; one must be a multiple of the other (or use --hidden mse)`);
    }
    return { cfg, regressor: null };
  }
  if (s.join() === t.join()) return { cfg, regressor: null };
  const rng = new Random(o.seed + 1);
  if (s.length === 1 && t.length === 1) return { cfg: { ...cfg, regressor: new Linear(s[0], t[0], { rng }) }, regressor: `linear ${s[0]} → ${t[0]}` };
  if (s.length === 3 && t.length === 3 && s[1] === t[1] && s[2] === t[2]) {
    return { cfg: { ...cfg, regressor: new Conv2d(s[0], t[0], 1, { rng }) }, regressor: `conv1x1 ${s[0]} → ${t[0]} channels` };
  }
  throw new CliError(`--hidden mse: the student's tap ${o.studentTap} gives ${fmtShape(s)}, the teacher's tap ${o.teacherTap} gives ${fmtShape(t)}; no linear or 1×1-conv regressor maps one onto the other (use --hidden cosine, or taps of the same kind)`);
}

// ---- the command ----------------------------------------------------------------------------

interface DistillOptions extends TeacherOptions, StudentOptions, DataOptions, RunOptions, KdWeightOptions {
  assistant?: string;
  assistantSpec?: string;
  assistantOut?: string;
  hidden?: 'cosine' | 'mse';
  studentTap?: string;
  teacherTap?: string;
  hiddenWeight: number;
  teacherEval: boolean;
  out?: string;
}

async function distillAction(o: DistillOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  // Everything that can be wrong with the request is checked before the GPU starts.
  const teachers = readTeachers(o);
  const student = resolveStudent(o);
  const assistant = o.assistant !== undefined || o.assistantSpec !== undefined ? resolveStudent({ student: o.assistant, studentSpec: o.assistantSpec }, 'assistant') : undefined;
  if (o.assistantOut !== undefined && !assistant) throw new CliError('--assistant-out needs --assistant or --assistant-spec');
  const w = lossWeights(o);
  if (o.hidden) {
    if (o.studentTap === undefined || o.teacherTap === undefined) throw new CliError(`--hidden ${o.hidden} needs --student-tap and --teacher-tap (a Sequential layer index such as 5, or features / flatten)`);
    if (teachers.length > 1) throw new CliError(`--hidden needs a single teacher, got ${teachers.length} --teacher files`);
    if (assistant) throw new CliError('--hidden cannot be combined with --assistant');
  } else if (o.studentTap !== undefined || o.teacherTap !== undefined) {
    throw new CliError('--student-tap and --teacher-tap need --hidden cosine or --hidden mse');
  }
  checkWritable(o.out, '--out');
  checkWritable(o.assistantOut, '--assistant-out');
  const data = splitData(o, [...teachers.map((t) => t.src), student, ...(assistant ? [assistant] : [])]);
  await initGpu(cmd);
  const teacher = loadTeachers(teachers, o.combine, data.classes);
  const model = student.build({ seed: o.seed, classes: data.classes });
  const hidden = hiddenConfig(o, model, teacher, data.train.sampleShape);
  const chain = assistant ? ` → ${assistant.name}` : '';
  out.note(
    `distilling ${teacherLabel(teachers)}${chain} → ${student.name} on ${data.train.count} ${data.name} images${data.val ? ` (+${data.val.count} validation)` : ''}, ` +
      `${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, batch ${o.batch}, T=${o.temperature}, ${w.weights ? `KD weight ${w.kd}, CE weight ${w.ce}` : `alpha=${w.alpha}`}`,
  );
  let teacherTest: { count: number; accuracy: number; macroF1: number } | null = null;
  if (o.teacherEval) {
    out.note(`evaluating the teacher on ${data.test.count} test images`);
    const m = await evaluate(teacher, data.test);
    teacherTest = { count: m.count, accuracy: m.accuracy, macroF1: m.macroF1 };
  }
  const bar = (label: string) => (o.progress ? [new ProgressBar({ epochs: o.epochs, batchSize: o.batch, label })] : []);
  const cfg: DistillConfig = {
    epochs: o.epochs,
    batchSize: o.batch,
    lr: o.lr,
    optimizer: o.optimizer,
    seed: o.seed,
    test: data.test,
    validation: data.val,
    logEvery: o.logEvery,
    temperature: o.temperature,
    form: o.form,
    ...(w.weights ? { weights: w.weights } : { alpha: w.alpha }),
    hidden: hidden?.cfg,
    callbacks: bar('student'),
    record: { student: student.name, teacher: teacherLabel(teachers) },
  };
  let run: RunRecord;
  let assistantRun: { history: ReturnType<typeof slimLog>[]; test: ReturnType<typeof slimTest>; out: string | null } | null = null;
  if (assistant) {
    const aModel = assistant.build({ seed: o.seed, classes: data.classes });
    const r = await distillChain(teacher, aModel, model, data.train, { ...cfg, assistantConfig: { callbacks: bar('assistant') } });
    run = r.student;
    if (o.assistantOut) await saveWeights(aModel, o.assistantOut, modelMetadata(assistant));
    assistantRun = { history: r.assistant.history.map(slimLog), test: slimTest(r.assistant), out: o.assistantOut ?? null };
  } else {
    run = await distill(model, teacher, data.train, cfg);
  }
  if (o.out) await saveWeights(model, o.out, modelMetadata(student));
  const seconds = (performance.now() - t0) / 1000;
  const test = slimTest(run);
  out.result({
    teachers: teachers.map((t) => ({ weights: t.path, model: t.src.name })),
    combine: o.combine,
    teacherTest,
    student: student.name,
    assistant: assistant?.name ?? null,
    dataset: data.name,
    trainSize: data.train.count,
    valSize: data.val?.count ?? 0,
    testSize: data.test.count,
    epochs: o.epochs,
    batch: o.batch,
    optimizer: o.optimizer,
    lr: o.lr,
    seed: o.seed,
    temperature: o.temperature,
    alpha: w.weights ? null : w.alpha,
    kdWeight: w.kd,
    ceWeight: w.ce,
    form: o.form,
    hidden: hidden ? { kind: hidden.cfg.kind, weight: hidden.cfg.weight, studentTap: hidden.cfg.studentTap, teacherTap: hidden.cfg.teacherTap, regressor: hidden.regressor } : null,
    history: run.history.map(slimLog),
    test,
    assistantRun,
    hashes: run.hashes,
    seconds,
    out: o.out ?? null,
  });
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const lines = [`distilled ${student.name} in ${seconds.toFixed(1)} s`];
  if (teacherTest) lines.push(`teacher test accuracy ${pct(teacherTest.accuracy)} (${teacherTest.count} images)`);
  if (assistantRun) lines.push(`assistant ${assistant!.name} test accuracy ${pct(assistantRun.test.accuracy)}${assistantRun.out ? `, weights written to ${assistantRun.out}` : ''}`);
  lines.push(`student test accuracy ${pct(test.accuracy)}, macro F1 ${test.macroF1.toFixed(4)} (${test.count} images)`);
  if (o.out) lines.push(`weights written to ${o.out}`);
  out.say(lines.join('\n'));
}

/** -T / --temperature (> 0), shared with `kdgpu demo`. */
export const temperatureOption = (dflt?: number) => {
  const opt = new Option('-T, --temperature <x>', 'softmax temperature of the soft targets (> 0)').argParser(positiveNumber);
  return dflt === undefined ? opt : opt.default(dflt);
};

export default function distillCommand(): Command {
  const c = new Command('distill').description('distill a trained teacher (or an ensemble, or a teacher → assistant chain) into a student');
  addTeacherOptions(c);
  addStudentOptions(c);
  c.option('--assistant <name>', 'built-in teaching-assistant model: teacher → assistant → student')
    .option('--assistant-spec <file>', 'JSON model spec of the teaching assistant')
    .option('--assistant-out <file>', 'write the trained assistant\'s weights');
  addDataOptions(c);
  addRunOptions(c);
  return c
    .addOption(temperatureOption(4))
    .option('--alpha <x>', 'weight of the distillation term in [0, 1]: alpha·KD + (1 − alpha)·CE (default 0.5)', unitInterval)
    .option('--kd-weight <w>', 'weight of the distillation term (with --ce-weight, instead of --alpha)', numberIn('a number ≥ 0', 0))
    .option('--ce-weight <w>', 'weight of the hard-label cross-entropy (with --kd-weight)', numberIn('a number ≥ 0', 0))
    .addOption(choiceOption('--form <form>', 'soft-target loss: KL divergence, or cross-entropy (same gradient)', ['kl', 'ce'], 'kl'))
    .addOption(choiceOption('--hidden <kind>', 'add a hidden-representation term: cosine (1 − cos) or mse (through a regressor)', ['cosine', 'mse']))
    .option('--student-tap <tap>', 'the student\'s hidden layer: a Sequential layer index (e.g. 3), or features / flatten')
    .option('--teacher-tap <tap>', 'the teacher\'s hidden layer, named the same way')
    .option('--hidden-weight <w>', 'weight of the hidden term', numberIn('a number ≥ 0', 0), 1)
    .option('--no-teacher-eval', 'skip the teacher\'s test accuracy')
    .option('--out <file>', 'write the student\'s weights (safetensors; `kdgpu eval --weights FILE` reads them back)')
    .addOption(jsonOption())
    .action((opts: DistillOptions, cmd: Command) => distillAction(opts, cmd));
}
