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
 *         assistantRun: { history, test, out } | null, hashes: { data, teacher }, seconds, out,
 *         checkpoint (with --checkpoint), resumedFrom (with --resume) }
 * After Ctrl-C (exit 130): { student, stopReason: 'signal', stoppedAt: { epoch, step }, history,
 *         checkpoint, resumedFrom, out: null, seconds }; a diverging run exits 1 naming the step.
 */
import { Command } from 'commander';
import { distill, distillChain, hiddenLossConfig, nn, ProgressBar, RunStoppedError, saveWeights, writeFileAtomic, type DistillConfig, type RunRecord } from '../index.js';
import { defaultCheckpointPath, onInterrupt, placeOf, placeText, readCheckpoint, resumeCommand, testInterrupts } from './checkpoint-files.js';
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
  checkpoint?: string;
  resume?: string;
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
  if (assistant && (o.checkpoint !== undefined || o.resume !== undefined)) throw new CliError('--checkpoint and --resume cannot be combined with --assistant (distill each stage on its own to checkpoint it)');
  const inputs = [
    ...(o.teacher ?? []).map((path) => ({ path, option: '--teacher' })),
    ...['teacherSpec', 'studentSpec', 'assistantSpec'].map((k) => ({ path: (o as unknown as Record<string, string | undefined>)[k], option: `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` })),
    datasetInput(o.dataset),
  ];
  // --checkpoint may be the --resume file (it goes on being the run's checkpoint); the others may not.
  checkOutputFiles([{ path: o.out, option: '--out' }, { path: o.assistantOut, option: '--assistant-out' }], [...inputs, { path: o.resume, option: '--resume' }]);
  checkOutputFiles([{ path: o.out, option: '--out' }, { path: o.assistantOut, option: '--assistant-out' }, { path: o.checkpoint, option: '--checkpoint' }], inputs);
  const resume = o.resume === undefined ? undefined : readCheckpoint(o.resume, 'kdgpu distill --checkpoint');
  const data = splitWithTest(o, [...teachers.map((t) => t.src), student, ...(assistant ? [assistant] : [])]);
  // From here on Ctrl-C stops the run with a checkpoint (a chain with --assistant quits as usual).
  const signal = { stopped: false };
  let bars: ProgressBar[] = [];
  const release = assistant ? () => {} : onInterrupt(signal, (msg) => (bars[0] ? bars[0].note(msg) : out.note(msg)));
  try {
    await distillRun(o, cmd, out, t0, { teachers, student, assistant, w, data, signal, resume, setBars: (b) => (bars = b) });
  } catch (e) {
    for (const b of bars) b.stop();
    if (e instanceof nn.TrainingDivergedError) throw new CliError(e.message.replace(/^kdgpu: /, ''));
    if (!(e instanceof RunStoppedError)) throw e;
    const place = placeOf(nn.parseSafetensors(e.checkpoint, 'checkpoint').metadata)!;
    const ckpt = o.checkpoint ?? defaultCheckpointPath(o.out);
    if (!o.checkpoint) writeFileAtomic(ckpt, e.checkpoint);
    out.result({ student: student.name, stopReason: 'signal', stoppedAt: place, history: e.history.map(slimLog), checkpoint: ckpt, resumedFrom: o.resume ?? null, out: null, seconds: (performance.now() - t0) / 1000 });
    out.note(`kdgpu: stopped ${placeText(place)}; checkpoint written to ${ckpt}. Resume with:\n  ${resumeCommand(process.argv.slice(2), ckpt)}`);
    process.exitCode = 130;
  } finally {
    release();
  }
}

interface DistillPlan {
  teachers: ReturnType<typeof readTeachers>;
  student: ReturnType<typeof resolveStudent>;
  assistant: ReturnType<typeof resolveStudent> | undefined;
  w: ReturnType<typeof lossWeights>;
  data: ReturnType<typeof splitWithTest>;
  signal: { stopped: boolean };
  resume: ReturnType<typeof readCheckpoint> | undefined;
  setBars: (bars: ProgressBar[]) => void;
}

async function distillRun(o: DistillOptions, cmd: Command, out: Reporter, t0: number, plan: DistillPlan): Promise<void> {
  const { teachers, student, assistant, w, data, signal, resume } = plan;
  await initGpu(cmd);
  const teacher = loadTeachers(teachers, o.combine, data.classes);
  const model = student.build({ seed: o.seed, classes: data.classes });
  const hidden = o.hidden
    ? hiddenLossConfig(model, teacher, { kind: o.hidden, weight: o.hiddenWeight, studentTap: o.studentTap!, teacherTap: o.teacherTap!, inputShape: data.train.sampleShape, seed: o.seed + 1 })
    : undefined;
  const chain = assistant ? ` → ${assistant.name}` : '';
  out.note(
    `distilling ${teacherLabel(teachers)}${chain} → ${student.name} on ${data.train.count} ${data.name} images${data.val ? ` (+${data.val.count} validation)` : ''}, ` +
      `${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, batch ${o.batch}, T=${o.temperature}, ${w.weights ? `KD weight ${w.kd}, CE weight ${w.ce}` : `alpha=${w.alpha}`}${resume ? `, resuming ${placeText(resume)}` : ''}`,
  );
  let teacherTest: { count: number; accuracy: number; macroF1: number } | null = null;
  if (o.teacherEval) {
    out.note(`evaluating the teacher on ${data.test.count} test images`);
    const m = await nn.evaluate(teacher, data.test);
    teacherTest = { count: m.count, accuracy: m.accuracy, macroF1: m.macroF1 };
  }
  const made: ProgressBar[] = [];
  const bar = (label: string) => {
    const b = o.progress ? [new ProgressBar({ epochs: o.epochs, batchSize: o.batch, label })] : [];
    made.push(...b);
    plan.setBars(made);
    return b;
  };
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
    callbacks: [...bar('student'), ...testInterrupts()],
    record: { student: student.name, teacher: teacherLabel(teachers) },
    ...(assistant
      ? {}
      : {
          signal,
          onStop: 'checkpoint' as const,
          checkpoint: o.checkpoint ? (bytes: Uint8Array) => writeFileAtomic(o.checkpoint!, bytes) : undefined,
          resumeFrom: resume?.bytes,
          resumeName: o.resume,
        }),
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
    ...(o.checkpoint === undefined ? {} : { checkpoint: o.checkpoint }),
    ...(o.resume === undefined ? {} : { resumedFrom: o.resume }),
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
    .option('--checkpoint <file>', 'write a checkpoint after every epoch (Ctrl-C always writes one and prints how to resume)')
    .option('--resume <file>', 'continue from a checkpoint (use the same options)')
    .addOption(jsonOption())
    .action((opts: DistillOptions, cmd: Command) => distillAction(opts, cmd));
}
