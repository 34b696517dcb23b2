/**
 * `kdgpu distill`: distills a trained teacher (or an ensemble of them, or a teacher → assistant
 * chain) into a student, with kd.distill / kd.distillChain:
 *   loss = alpha · T²·KL(teacher ‖ student) + (1 − alpha) · CE(labels)   (alpha weighs the distillation term)
 * or `--kd-weight W --ce-weight W` for independent weights; `--hidden cosine|mse` adds a
 * hidden-representation term set up by kd.hiddenLossConfig (for mse, a linear or 1×1-conv
 * regressor is trained with the student when the two representations differ in width).
 *
 * JSON: { teachers: [{ weights, model }], combine, teacherTest: { count, accuracy, macroF1 } | null,
 *         student, assistant (model name or null), dataset, trainSize, valSize, testSize, epochs,
 *         batch, optimizer, lr, seed, temperature, alpha (null with --kd-weight/--ce-weight),
 *         kdWeight, ceWeight, form, hidden: { kind, weight, studentTap, teacherTap, regressor } | null,
 *         history: [{ epoch, loss, seconds, imagesPerSecond, lr, val?: { loss, accuracy, macroF1 } }],
 *         test: { count, accuracy, macroF1, perClassAccuracy },
 *         assistantRun: { history, test, out } | null, hashes: { data, teacher }, seconds, out }
 */
import { Command } from 'commander';
import { distill, distillChain, hiddenLossConfig, nn, ProgressBar, saveWeights, type DistillConfig, type RunRecord } from '../index.js';
import { initGpu } from './gpu.js';
import { choiceOption, jsonOption, numberIn } from './options.js';
import { CliError, Reporter } from './output.js';
import {
  addDataOptions,
  addRunOptions,
  addStudentOptions,
  addTeacherOptions,
  dataFields,
  loadTeachers,
  lossWeights,
  pct,
  readTeachers,
  resolveStudent,
  slimLog,
  slimTest,
  splitWithTest,
  teacherFields,
  teacherLabel,
  temperatureOption,
  unitInterval,
  type DataOptions,
  type KdWeightOptions,
  type RunOptions,
  type StudentOptions,
  type TeacherOptions,
} from './shared.js';
import { checkOutputFiles, datasetInput } from './outputs.js';

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
  checkOutputFiles([{ path: o.out, option: '--out' }, { path: o.assistantOut, option: '--assistant-out' }], [
    ...(o.teacher ?? []).map((path) => ({ path, option: '--teacher' })),
    ...['teacherSpec', 'studentSpec', 'assistantSpec'].map((k) => ({ path: (o as unknown as Record<string, string | undefined>)[k], option: `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` })),
    datasetInput(o.dataset),
  ]);
  const data = splitWithTest(o, [...teachers.map((t) => t.src), student, ...(assistant ? [assistant] : [])]);
  await initGpu(cmd);
  const teacher = loadTeachers(teachers, o.combine, data.classes);
  const model = student.build({ seed: o.seed, classes: data.classes });
  const hidden = o.hidden
    ? hiddenLossConfig(model, teacher, { kind: o.hidden, weight: o.hiddenWeight, studentTap: o.studentTap!, teacherTap: o.teacherTap!, inputShape: data.train.sampleShape, seed: o.seed + 1 })
    : undefined;
  const chain = assistant ? ` → ${assistant.name}` : '';
  out.note(
    `distilling ${teacherLabel(teachers)}${chain} → ${student.name} on ${data.train.count} ${data.name} images${data.val ? ` (+${data.val.count} validation)` : ''}, ` +
      `${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, batch ${o.batch}, T=${o.temperature}, ${w.weights ? `KD weight ${w.kd}, CE weight ${w.ce}` : `alpha=${w.alpha}`}`,
  );
  let teacherTest: { count: number; accuracy: number; macroF1: number } | null = null;
  if (o.teacherEval) {
    out.note(`evaluating the teacher on ${data.test.count} test images`);
    const m = await nn.evaluate(teacher, data.test);
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
    hidden: hidden?.config,
    callbacks: bar('student'),
    record: { student: student.name, teacher: teacherLabel(teachers) },
  };
  let run: RunRecord;
  let assistantRun: { history: ReturnType<typeof slimLog>[]; test: ReturnType<typeof slimTest>; out: string | null } | null = null;
  if (assistant) {
    const aModel = assistant.build({ seed: o.seed, classes: data.classes });
    const r = await distillChain(teacher, aModel, model, data.train, { ...cfg, assistantConfig: { callbacks: bar('assistant') } });
    run = r.student;
    if (o.assistantOut) await saveWeights(aModel, o.assistantOut, nn.modelMetadata(assistant));
    assistantRun = { history: r.assistant.history.map(slimLog), test: slimTest(r.assistant), out: o.assistantOut ?? null };
  } else {
    run = await distill(model, teacher, data.train, cfg);
  }
  if (o.out) await saveWeights(model, o.out, nn.modelMetadata(student));
  const seconds = (performance.now() - t0) / 1000;
  const test = slimTest(run);
  out.result({
    ...teacherFields(teachers, o.combine),
    teacherTest,
    student: student.name,
    assistant: assistant?.name ?? null,
    ...dataFields(data),
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
    hidden: hidden ? { kind: hidden.config.kind, weight: hidden.config.weight, studentTap: hidden.config.studentTap, teacherTap: hidden.config.teacherTap, regressor: hidden.regressor } : null,
    history: run.history.map(slimLog),
    test,
    assistantRun,
    hashes: run.hashes,
    seconds,
    out: o.out ?? null,
  });
  const lines = [`distilled ${student.name} in ${seconds.toFixed(1)} s`];
  if (teacherTest) lines.push(`teacher test accuracy ${pct(teacherTest.accuracy)} (${teacherTest.count} images)`);
  if (assistantRun) lines.push(`assistant ${assistant!.name} test accuracy ${pct(assistantRun.test.accuracy)}${assistantRun.out ? `, weights written to ${assistantRun.out}` : ''}`);
  lines.push(`student test accuracy ${pct(test.accuracy)}, macro F1 ${test.macroF1.toFixed(4)} (${test.count} images)`);
  if (o.out) lines.push(`weights written to ${o.out}`);
  out.say(lines.join('\n'));
}

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
