/**
 * `kdgpu sweep`: one distillation run per temperature and/or alpha and per seed
 * (kd.sweepDistillation; the teacher's logits are computed once and reused), then
 * kd.writeSweepOutputs: results.json, results.csv, history.csv, and SVG + PNG plots of test
 * accuracy and macro F1 against each swept value, and training curves.
 *
 *   kdgpu sweep --teacher teacher.safetensors --student mnist-mlp-student --T 1,2,4,16,32,64 --seeds 0,1 --out sweep/
 *
 * JSON: { teachers: [{ weights, model }], combine, student, dataset, trainSize, valSize, testSize,
 *         epochs, batch, optimizer, lr, form, grid: { temperature?: [...], alpha?: [...] }, seeds,
 *         fixed: { temperature?, alpha? } (the value of an axis that is not swept),
 *         runs: [{ name, seed, temperature, alpha, accuracy, macroF1, seconds }],
 *         points: [{ temperature, alpha, meanAccuracy, stdAccuracy, meanMacroF1, runs }],
 *         best: the point with the highest mean accuracy, files: [paths written], out, seconds }
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ALPHA_GRID, nn, ProgressBar, RunStoppedError, sweepDistillation, T_GRID, writeSweepOutputs, type Grid, type RunRecord } from '../index.js';
import { onInterrupt, placeOf, placeText, resumeCommand, testInterrupts } from './checkpoint-files.js';
import { readSweepCheckpoint, writeSweepCheckpoint, type SweepCheckpoint } from './sweep-checkpoint.js';
import { initGpu } from './gpu.js';
import { choiceOption, jsonOption } from './options.js';
import { CliError, Reporter } from './output.js';
import { addDataOptions, addRunOptions, addStudentOptions, addTeacherOptions, dataFields, loadTeachers, readTeachers, resolveStudent, splitWithTest, teacherFields, teacherLabel } from './shared.js';
import type { DataOptions, RunOptions, StudentOptions, TeacherOptions } from './shared.js';
import { checkOutputFolder, datasetInput } from './outputs.js';

/** A comma-separated list of distinct numbers, each checked; `grid` gives the default grid. */
function numberList(what: string, ok: (n: number) => boolean, grid: readonly number[]): (value: string) => number[] {
  return (value) => {
    if (value.trim() === 'grid') return [...grid];
    const parts = value.split(',').map((s) => s.trim());
    const nums = parts.map((s) => (s === '' ? NaN : Number(s)));
    if (nums.length === 0 || nums.some((n) => !Number.isFinite(n) || !ok(n))) throw new InvalidArgumentError(`Expected a comma-separated list of ${what} (or "grid": ${grid.join(',')}).`);
    if (new Set(nums).size !== nums.length) throw new InvalidArgumentError('Expected distinct values.');
    return nums;
  };
}

function seedList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((s) => !/^\d+$/.test(s) || !Number.isSafeInteger(Number(s)))) throw new InvalidArgumentError('Expected a comma-separated list of integers ≥ 0.');
  const seeds = parts.map(Number);
  if (new Set(seeds).size !== seeds.length) throw new InvalidArgumentError('Expected distinct seeds.');
  return seeds;
}

interface SweepOptions extends TeacherOptions, StudentOptions, DataOptions, Omit<RunOptions, 'seed'> {
  T?: number[];
  alpha?: number[];
  seeds: number[];
  form: 'kl' | 'ce';
  out: string;
  png: boolean;
  checkpoint?: string;
  resume?: string;
}

const FIXED_T = 4;
const FIXED_ALPHA = 0.5;

function stats(xs: number[]): { mean: number; std: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const std = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean, std };
}

async function sweepAction(o: SweepOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  if (o.T === undefined && o.alpha === undefined) throw new CliError('give --T LIST and/or --alpha LIST (e.g. --T 1,2,4,16,32,64)');
  const teachers = readTeachers(o);
  const student = resolveStudent(o);
  checkOutputFolder(o.out, '--out', ['results.json', 'results.csv', 'history.csv'], [...(o.teacher ?? []).map((path) => ({ path, option: '--teacher' })), { path: o.studentSpec, option: '--student-spec' }, datasetInput(o.dataset)]);
  const data = splitWithTest(o, [...teachers.map((t) => t.src), student]);
  const grid: Grid = {};
  const fixed: { temperature?: number; alpha?: number } = {};
  if (o.T) grid.temperature = o.T;
  else fixed.temperature = FIXED_T;
  if (o.alpha) grid.alpha = o.alpha;
  else fixed.alpha = FIXED_ALPHA;
  const total = (o.T?.length ?? 1) * (o.alpha?.length ?? 1) * o.seeds.length;
  const axes = [o.T ? `T ∈ {${o.T.join(', ')}}` : `T=${FIXED_T}`, o.alpha ? `alpha ∈ {${o.alpha.join(', ')}}` : `alpha=${FIXED_ALPHA}`].join(', ');
  // What a checkpoint must agree on to be resumed by this command line.
  const sweepKey = JSON.stringify({ teachers: o.teacher, student: student.name, dataset: o.dataset, trainSize: data.train.count, testSize: data.test.count, epochs: o.epochs, batch: o.batch, lr: o.lr, optimizer: o.optimizer, form: o.form, grid, fixed, seeds: o.seeds });
  const resumed = o.resume === undefined ? undefined : readSweepCheckpoint(o.resume, sweepKey);
  const ckptPath = o.checkpoint ?? join(o.out, 'sweep.checkpoint.json');
  const state: SweepCheckpoint = { kind: 'kdgpu-sweep-checkpoint', key: sweepKey, done: [...(resumed?.done ?? [])], current: null };
  const save = () => {
    mkdirSync(o.out, { recursive: true });
    writeSweepCheckpoint(ckptPath, state);
  };
  // From here on Ctrl-C stops the sweep with a checkpoint of its finished runs and the one in progress.
  const signal = { stopped: false };
  let bar: ProgressBar | null = null;
  const release = onInterrupt(signal, (msg) => (bar ? bar.note(msg) : out.note(msg)));
  let result: Awaited<ReturnType<typeof sweepDistillation>>;
  try {
    await initGpu(cmd);
    const teacher = loadTeachers(teachers, o.combine, data.classes);
    const skip = resumed ? `; resuming: ${resumed.done.length} finished run${resumed.done.length === 1 ? '' : 's'} kept${resumed.current ? `, run ${resumed.current.run + 1} continues ${placeText(resumed.current)}` : ''}` : '';
    out.note(`sweeping ${teacherLabel(teachers)} → ${student.name}: ${axes}, seeds ${o.seeds.join(', ')} (${total} runs of ${o.epochs} epoch${o.epochs === 1 ? '' : 's'} on ${data.train.count} ${data.name} images)${skip}`);
    bar = o.progress ? new ProgressBar({ epochs: o.epochs, batchSize: o.batch, label: 'run' }) : null;
    result = await sweepRuns(teacher);
  } catch (e) {
    (bar as ProgressBar | null)?.stop();
    if (e instanceof nn.TrainingDivergedError || (e as Error)?.cause instanceof nn.TrainingDivergedError) throw new CliError((e as Error).message.replace(/^kdgpu: /, ''));
    if (!(e instanceof RunStoppedError)) throw e;
    const run = state.done.length;
    const place = placeOf(nn.parseSafetensors(e.checkpoint, 'checkpoint').metadata)!;
    state.current = { run, ...place, checkpoint: Buffer.from(e.checkpoint).toString('base64'), history: [...(resumed?.current?.run === run ? resumed.current.history : []), ...e.history] };
    save();
    out.result({ stopReason: 'signal', runsDone: run, total, stoppedAt: { run: run + 1, ...place }, checkpoint: ckptPath, resumedFrom: o.resume ?? null, out: null, seconds: (performance.now() - t0) / 1000 });
    out.note(`kdgpu: stopped run ${run + 1}/${total} ${placeText(place)} (${run} finished); checkpoint written to ${ckptPath}. Resume with:\n  ${resumeCommand(process.argv.slice(2), ckptPath)}`);
    process.exitCode = 130;
    return;
  } finally {
    release();
  }

  async function sweepRuns(teacher: ReturnType<typeof loadTeachers>) {
    const current = resumed?.current ?? null;
    return sweepDistillation({
    grid,
    seeds: o.seeds,
    student: (seed) => student.build({ seed, classes: data.classes }),
    teacher,
    train: data.train,
    config: {
      epochs: o.epochs,
      batchSize: o.batch,
      lr: o.lr,
      optimizer: o.optimizer,
      test: data.test,
      validation: data.val,
      logEvery: o.logEvery,
      form: o.form,
      ...fixed,
      callbacks: [...(bar ? [bar] : []), ...testInterrupts()],
      record: { student: student.name, teacher: teacherLabel(teachers) },
      signal,
      onStop: 'checkpoint',
    },
    done: resumed?.done,
    resumeFrom: current ? new Uint8Array(Buffer.from(current.checkpoint, 'base64')) : undefined,
    resumeName: o.resume,
    checkpoint: o.checkpoint
      ? (bytes, run, epoch) => {
          const place = placeOf(nn.parseSafetensors(bytes, 'checkpoint').metadata) ?? { epoch, step: 0 };
          state.current = { run, ...place, checkpoint: Buffer.from(bytes).toString('base64'), history: state.current?.run === run ? state.current.history : [] };
          save();
        }
      : undefined,
    onRun: (r, i, n) => {
      // The resumed run's record keeps the epochs it finished before the stop.
      if (current && i === current.run) r.history.unshift(...current.history.filter((h) => !r.history.some((x) => x.epoch === h.epoch)));
      state.done.push(r);
      state.current = null;
      if (o.checkpoint) save();
      out.note(`run ${i + 1}/${n} ${r.name}: test accuracy ${(100 * r.test.accuracy).toFixed(2)}% (${r.seconds.toFixed(1)} s)`);
    },
  });
  }
  const files = await writeSweepOutputs(result, o.out, { png: o.png });

  const T = (r: RunRecord) => (r.config.temperature as number | undefined) ?? null;
  const A = (r: RunRecord) => (r.config.alpha as number | null | undefined) ?? null;
  const runs = result.runs.map((r) => ({ name: r.name, seed: r.seed, temperature: T(r), alpha: A(r), accuracy: r.test.accuracy, macroF1: r.test.macroF1, seconds: r.seconds }));
  const groups = new Map<string, RunRecord[]>();
  for (const r of result.runs) {
    const k = `${T(r)}|${A(r)}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const points = [...groups.values()].map((rs) => {
    const acc = stats(rs.map((r) => r.test.accuracy));
    return { temperature: T(rs[0]), alpha: A(rs[0]), meanAccuracy: acc.mean, stdAccuracy: acc.std, meanMacroF1: stats(rs.map((r) => r.test.macroF1)).mean, runs: rs.length };
  });
  const best = points.reduce((a, b) => (b.meanAccuracy > a.meanAccuracy ? b : a));
  const seconds = (performance.now() - t0) / 1000;
  out.result({
    ...teacherFields(teachers, o.combine),
    student: student.name,
    ...dataFields(data),
    epochs: o.epochs,
    batch: o.batch,
    optimizer: o.optimizer,
    lr: o.lr,
    form: o.form,
    grid,
    seeds: o.seeds,
    fixed,
    runs,
    points,
    best,
    files,
    out: o.out,
    seconds,
  });
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const head = `${'T'.padStart(6)} ${'alpha'.padStart(6)}  ${'accuracy (mean ± std)'.padEnd(22)} runs`;
  out.say(
    [
      `sweep of ${runs.length} runs in ${seconds.toFixed(1)} s`,
      head,
      ...points.map((p) => `${String(p.temperature).padStart(6)} ${String(p.alpha).padStart(6)}  ${`${pct(p.meanAccuracy)} ± ${(100 * p.stdAccuracy).toFixed(2)}`.padEnd(22)} ${p.runs}`),
      `best: T=${best.temperature}, alpha=${best.alpha} (${pct(best.meanAccuracy)})`,
      `wrote ${files.length} files to ${o.out}`,
    ].join('\n'),
  );
}

export default function sweepCommand(): Command {
  const c = new Command('sweep').description('distill over a grid of temperatures and/or alphas and seeds; write results, CSVs and plots');
  addTeacherOptions(c);
  addStudentOptions(c);
  addDataOptions(c);
  addRunOptions(c, { seed: false }); // --seeds instead
  return c
    .option('--T <list>', `temperatures to sweep, comma-separated (each > 0), or "grid" (${T_GRID.join(',')}); default: fixed at ${FIXED_T}`, numberList('numbers > 0', (n) => n > 0, T_GRID))
    .option('--alpha <list>', `distillation weights to sweep, comma-separated (each in [0, 1]), or "grid" (${ALPHA_GRID.join(',')}); default: fixed at ${FIXED_ALPHA}`, numberList('numbers in [0, 1]', (n) => n >= 0 && n <= 1, ALPHA_GRID))
    .addOption(new Option('--seeds <list>', 'seeds, comma-separated: each seeds a fresh student\'s weights, the shuffle and dropout').argParser(seedList).default([0], '0'))
    .addOption(choiceOption('--form <form>', 'soft-target loss: KL divergence, or cross-entropy (same gradient)', ['kl', 'ce'], 'kl'))
    .option('--out <dir>', 'folder for results.json, results.csv, history.csv and the plots (created if needed)', 'kdgpu-sweep')
    .option('--no-png', 'write the plots as SVG only')
    .option('--checkpoint <file>', 'keep the sweep\'s state here (finished runs, the run in progress after every epoch); default on Ctrl-C: OUT/sweep.checkpoint.json')
    .option('--resume <file>', 'continue a stopped sweep from its checkpoint (same options): finished runs are kept, not run again')
    .addOption(jsonOption())
    .action((opts: SweepOptions, cmd: Command) => sweepAction(opts, cmd));
}
