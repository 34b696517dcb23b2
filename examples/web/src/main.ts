/**
 * The web page: wires the DOM to recipe.ts. Everything it computes goes through kdgpu's browser
 * entry point on the visitor's WebGPU device. State for scripts and tests is on
 * `window.kdgpuPage` and `document.body.dataset.state` (loading → ready → training → done, or
 * no-webgpu / error). URL parameters set the controls (labelled, batch, epochs, T, alpha, seed,
 * data) and `autorun=1` starts a distillation once loaded; `sweep=1` runs the T sweep after it
 * (`sweepT=1,4` picks its temperatures, `sweepEpochs=1` its epochs).
 */
import * as kd from '../../../src/browser.js';
import type { TopLevelSpec } from 'vega-lite';
import {
  FASHION_CLASSES,
  loadFashion,
  loadTeacher,
  predictLabels,
  runSideBySide,
  runTemperatureSweep,
  WEB_RECIPE,
  type AccuracyPoint,
  type FashionData,
  type LossPoint,
  type StudentRole,
} from './recipe.js';

type PageState = 'loading' | 'ready' | 'training' | 'sweeping' | 'done' | 'no-webgpu' | 'error';

interface PageReport {
  state: PageState;
  error: string | null;
  adapter: string | null;
  dataset: string | null;
  teacher: { model: string; accuracy: number; params: number; flops: number } | null;
  run: {
    config: Record<string, number>;
    scratch: { accuracy: number };
    kd: { accuracy: number };
    losses: LossPoint[];
    accuracy: AccuracyPoint[];
    steps: number;
  } | null;
  sweep: { temperature: number; accuracy: number }[] | null;
}

const report: PageReport = { state: 'loading', error: null, adapter: null, dataset: null, teacher: null, run: null, sweep: null };
(window as unknown as { kdgpuPage: PageReport }).kdgpuPage = report;

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page element #${id} is missing`);
  return el as T;
};
const ui = {
  form: $<HTMLFormElement>('controls'),
  dataset: $<HTMLSelectElement>('dataset'),
  labelled: $<HTMLInputElement>('labelled'),
  batch: $<HTMLInputElement>('batch'),
  temperature: $<HTMLInputElement>('temperature'),
  alpha: $<HTMLInputElement>('alpha'),
  epochs: $<HTMLInputElement>('epochs'),
  seed: $<HTMLInputElement>('seed'),
  run: $<HTMLButtonElement>('run'),
  stop: $<HTMLButtonElement>('stop'),
  sweep: $<HTMLButtonElement>('sweep'),
  status: $('status'),
  error: $('error'),
  lossChart: $('loss-chart'),
  accuracyChart: $('accuracy-chart'),
  sweepChart: $('sweep-chart'),
  summary: $<HTMLTableElement>('summary'),
  grid: $('grid'),
};

const params = new URLSearchParams(location.search);
const num = (key: string, fallback: number): number => {
  const v = params.get(key);
  return v !== null && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : fallback;
};
ui.labelled.value = String(num('labelled', WEB_RECIPE.trainCount));
ui.batch.value = String(num('batch', WEB_RECIPE.batchSize));
ui.temperature.value = String(num('T', WEB_RECIPE.temperature));
ui.alpha.value = String(num('alpha', WEB_RECIPE.alpha));
ui.epochs.value = String(num('epochs', WEB_RECIPE.epochs));
ui.seed.value = String(num('seed', WEB_RECIPE.seed));

function setState(s: PageState): void {
  report.state = s;
  document.body.dataset.state = s;
}
function status(text: string): void {
  ui.status.textContent = text;
}
/** A readable message in the page instead of a stack trace in the console. */
function showError(title: string, detail: string, state: PageState = 'error'): void {
  report.error = `${title} ${detail}`.trim();
  ui.error.innerHTML = '';
  const strong = document.createElement('strong');
  strong.textContent = title;
  const p = document.createElement('div');
  p.textContent = detail;
  ui.error.append(strong, p);
  ui.error.classList.add('shown');
  for (const b of [ui.run, ui.stop, ui.sweep]) b.disabled = true;
  status('');
  setState(state);
}
const messageOf = (e: unknown): string => String((e as Error)?.message ?? e).replace(/^kdgpu: /, '');
window.addEventListener('error', (ev) => {
  ev.preventDefault();
  showError('Something went wrong.', messageOf(ev.error ?? ev.message));
});
window.addEventListener('unhandledrejection', (ev) => {
  ev.preventDefault();
  showError('Something went wrong.', messageOf(ev.reason));
});

async function fetchBytes(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`could not fetch ${url} (${messageOf(e)})`);
  }
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

// ---- charts ---------------------------------------------------------------------------------

const LABEL: Record<StudentRole, string> = { kd: 'distilled (teacher + labels)', scratch: 'scratch (labels only)' };
const COLOR = { domain: [LABEL.kd, LABEL.scratch], range: ['#3f6ae0', '#e0843f'] };

function curveSpec(values: object[], y: { field: string; title: string; format?: string }, points: boolean): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 520,
    height: 260,
    data: { values },
    mark: { type: 'line', point: points ? { size: 30 } : false },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training step' },
      y: { field: y.field, type: 'quantitative', title: y.title, scale: { zero: false }, axis: y.format ? { format: y.format } : {} },
      color: { field: 'student', type: 'nominal', title: null, scale: COLOR, legend: { orient: 'top', labelLimit: 300 } },
    },
  };
}

function sweepSpec(values: { temperature: number; accuracy: number }[], title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, fontSize: 12, fontWeight: 'normal' },
    width: 520,
    height: 260,
    data: { values },
    mark: { type: 'line', point: { size: 40 }, color: COLOR.range[0] },
    encoding: {
      x: { field: 'temperature', type: 'quantitative', title: 'temperature T', scale: { type: 'log', base: 2 }, axis: { values: values.map((v) => v.temperature) } },
      y: { field: 'accuracy', type: 'quantitative', title: 'distilled student test accuracy', scale: { zero: false }, axis: { format: '.1%' } },
      tooltip: [{ field: 'temperature' }, { field: 'accuracy', format: '.4f' }],
    },
  };
}

let losses: LossPoint[] = [];
let accuracy: AccuracyPoint[] = [];
let renderTimer: ReturnType<typeof setTimeout> | null = null;
let rendering: Promise<void> = Promise.resolve();

async function renderCurves(): Promise<void> {
  const l = losses.map((p) => ({ step: p.step, loss: p.loss, student: LABEL[p.student] }));
  const a = accuracy.map((p) => ({ step: p.step, accuracy: p.accuracy, student: LABEL[p.student] }));
  ui.lossChart.innerHTML = l.length ? await kd.renderSvg(curveSpec(l, { field: 'loss', title: 'loss (mean of the last steps)' }, false)) : '';
  ui.accuracyChart.innerHTML = a.length ? await kd.renderSvg(curveSpec(a, { field: 'accuracy', title: 'test accuracy', format: '.0%' }, true)) : '';
}
/** Redraws at most every 400 ms while training (rendering an SVG takes a few tens of ms). */
function scheduleCurves(): void {
  if (renderTimer) return;
  renderTimer = setTimeout(() => {
    renderTimer = null;
    rendering = rendering.then(renderCurves);
  }, 400);
}
async function flushCurves(): Promise<void> {
  if (renderTimer) clearTimeout(renderTimer);
  renderTimer = null;
  rendering = rendering.then(renderCurves);
  await rendering;
}

// ---- tables and images ----------------------------------------------------------------------

interface SummaryRow {
  name: string;
  params: number;
  flops: number;
  accuracy: number | null;
}
const rows = new Map<string, SummaryRow>();
const fmt = new Intl.NumberFormat('en-US');
function renderSummary(): void {
  const body = ui.summary.tBodies[0];
  body.innerHTML = '';
  for (const r of rows.values()) {
    const tr = body.insertRow();
    for (const text of [r.name, fmt.format(r.params), fmt.format(r.flops), r.accuracy === null ? '—' : `${(100 * r.accuracy).toFixed(2)}%`]) {
      tr.insertCell().textContent = text;
    }
  }
}
function costOf(model: kd.nn.Module): { params: number; flops: number } {
  const s = kd.nn.summary(model, [1, 28, 28]);
  return { params: s.params, flops: s.profilerFlops };
}

function renderGrid(test: kd.ArrayDataset, predicted: number[]): void {
  ui.grid.innerHTML = '';
  const px = 28 * 28;
  predicted.forEach((p, i) => {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.width = 28;
    canvas.height = 28;
    const ctx = canvas.getContext('2d');
    if (ctx) {
      const img = ctx.createImageData(28, 28);
      for (let j = 0; j < px; j++) {
        const v = 255 - Math.round(255 * Math.min(1, Math.max(0, test.x[i * px + j])));
        img.data.set([v, v, v, 255], 4 * j);
      }
      ctx.putImageData(img, 0, 0);
    }
    const truth = test.y[i];
    const cap = document.createElement('figcaption');
    cap.className = p === truth ? 'ok' : 'bad';
    cap.textContent = p === truth ? FASHION_CLASSES[p] : `${FASHION_CLASSES[p]} (is ${FASHION_CLASSES[truth]})`;
    fig.append(canvas, cap);
    ui.grid.append(fig);
  });
}

// ---- the page's work ------------------------------------------------------------------------

let data: FashionData | null = null;
let teacher: { model: kd.nn.Module; name: string } | null = null;
let students: Record<StudentRole, kd.nn.Module> | null = null;
let signal = { stopped: false };

function readConfig(): { trainCount: number; batchSize: number; temperature: number; alpha: number; epochs: number; seed: number } {
  const trainCount = Number(ui.labelled.value);
  const batchSize = Number(ui.batch.value);
  const temperature = Number(ui.temperature.value);
  const alpha = Number(ui.alpha.value);
  const epochs = Number(ui.epochs.value);
  const seed = Number(ui.seed.value);
  if (!(temperature > 0)) throw new Error(`temperature T must be a number > 0, got "${ui.temperature.value}"`);
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`alpha must be between 0 and 1, got "${ui.alpha.value}"`);
  if (!(Number.isInteger(epochs) && epochs >= 1)) throw new Error(`epochs must be a whole number ≥ 1, got "${ui.epochs.value}"`);
  if (!Number.isInteger(seed)) throw new Error(`seed must be a whole number, got "${ui.seed.value}"`);
  const most = data?.train.count ?? Infinity;
  if (!(Number.isInteger(trainCount) && trainCount >= 1 && trainCount <= most)) throw new Error(`labelled images must be a whole number from 1 to ${most}, got "${ui.labelled.value}"`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`batch must be a whole number ≥ 1, got "${ui.batch.value}"`);
  return { trainCount, batchSize, temperature, alpha, epochs, seed };
}

function busy(on: boolean): void {
  ui.run.disabled = on;
  ui.sweep.disabled = on;
  ui.dataset.disabled = on;
  ui.stop.disabled = !on;
}

async function loadData(which: string): Promise<void> {
  status(`Loading Fashion-MNIST (${which})…`);
  const base = which === 'full' ? './data/full/' : './data/subset/';
  data = await loadFashion((name) => fetchBytes(base + name));
  report.dataset = `${which}: ${data.train.count} training / ${data.test.count} test images`;
}

async function evaluateTeacher(): Promise<void> {
  if (!teacher || !data) return;
  status(`Evaluating the teacher on ${fmt.format(data.test.count)} test images…`);
  const acc = (await kd.nn.evaluate(teacher.model, data.test)).accuracy;
  report.teacher = { model: teacher.name, accuracy: acc, ...costOf(teacher.model) };
  rows.set('teacher', { name: `teacher (${teacher.name})`, ...costOf(teacher.model), accuracy: acc });
  const student = kd.nn.summary(kd.transferStudent([1, 28, 28], 10, WEB_RECIPE.hidden, 0), [1, 28, 28]);
  for (const role of ['scratch', 'kd'] as const) {
    if (!rows.has(role)) rows.set(role, { name: `student ${LABEL[role]}`, params: student.params, flops: student.profilerFlops, accuracy: null });
  }
  renderSummary();
}

async function distillOnce(): Promise<void> {
  if (!teacher || !data) return;
  let cfg: ReturnType<typeof readConfig> & { lr: number };
  try {
    cfg = { ...readConfig(), lr: WEB_RECIPE.lr };
  } catch (e) {
    status(messageOf(e));
    return;
  }
  busy(true);
  setState('training');
  signal = { stopped: false };
  losses = [];
  accuracy = [];
  if (students) for (const m of Object.values(students)) m.dispose();
  students = null;
  const steps = cfg.epochs * Math.ceil(cfg.trainCount / cfg.batchSize);
  let done = 0;
  status(`Training both students: ${steps} steps each (T = ${cfg.temperature}, alpha = ${cfg.alpha})…`);
  const t0 = performance.now();
  const r = await runSideBySide(teacher.model, data, cfg, {
    signal,
    onLoss: (p) => {
      losses.push(p);
      if (p.student === 'kd') done = p.step;
      status(`Training both students: step ${done} of ${steps} (T = ${cfg.temperature}, alpha = ${cfg.alpha}), ${((performance.now() - t0) / 1000).toFixed(0)} s…`);
      scheduleCurves();
    },
    onAccuracy: (p) => {
      accuracy.push(p);
      scheduleCurves();
    },
  });
  students = r.models;
  losses = r.losses;
  accuracy = r.accuracy;
  await flushCurves();
  for (const role of ['scratch', 'kd'] as const) rows.get(role)!.accuracy = r[role].test.accuracy;
  renderSummary();
  renderGrid(data.test, await predictLabels(r.models.kd, data.test, 24));
  report.run = {
    config: cfg,
    scratch: { accuracy: r.scratch.test.accuracy },
    kd: { accuracy: r.kd.test.accuracy },
    losses: r.losses,
    accuracy: r.accuracy,
    steps: Math.max(0, ...r.losses.map((p) => p.step)),
  };
  const gain = 100 * (r.kd.test.accuracy - r.scratch.test.accuracy);
  status(
    `${signal.stopped ? 'Stopped' : 'Done'} in ${((performance.now() - t0) / 1000).toFixed(0)} s: distilled ${(100 * r.kd.test.accuracy).toFixed(2)}%, ` +
      `scratch ${(100 * r.scratch.test.accuracy).toFixed(2)}% (${gain >= 0 ? '+' : ''}${gain.toFixed(2)} points).`,
  );
  busy(false);
  setState('done');
}

async function sweepOnce(): Promise<void> {
  if (!teacher || !data) return;
  let base: ReturnType<typeof readConfig>;
  try {
    base = readConfig();
  } catch (e) {
    status(messageOf(e));
    return;
  }
  const temperatures = (params.get('sweepT') ?? WEB_RECIPE.sweepTemperatures.join(',')).split(',').map(Number).filter((t) => t > 0);
  const epochs = num('sweepEpochs', base.epochs);
  busy(true);
  ui.stop.disabled = true;
  setState('sweeping');
  status(`T sweep: ${temperatures.length} distillations of ${epochs} epoch(s) at alpha = ${base.alpha}…`);
  const runs = await runTemperatureSweep(teacher.model, data, { ...base, epochs, lr: WEB_RECIPE.lr, temperatures }, (r, i, total) => {
    status(`T sweep: run ${i + 1} of ${total} (T = ${String(r.config.temperature)}) reached ${(100 * r.test.accuracy).toFixed(2)}%…`);
  });
  report.sweep = runs.map((r) => ({ temperature: Number(r.config.temperature), accuracy: r.test.accuracy }));
  ui.sweepChart.innerHTML = await kd.renderSvg(sweepSpec(report.sweep, `${base.trainCount} labelled images, ${epochs} epoch(s) per run, alpha = ${base.alpha}`));
  status(`T sweep done: ${report.sweep.map((s) => `T=${s.temperature}: ${(100 * s.accuracy).toFixed(1)}%`).join(', ')}.`);
  busy(false);
  setState('done');
}

/** Runs a page action; its failure becomes a readable message. */
function guarded(action: () => Promise<void>): () => void {
  return () => {
    action().catch((e) => showError('Training stopped with an error.', messageOf(e)));
  };
}

async function main(): Promise<void> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) {
    showError(
      'This browser has no WebGPU.',
      'The page trains on your GPU through WebGPU, which this browser does not offer. Use a recent Chrome, Edge or Safari ' +
        '(on Linux: Chrome with WebGPU enabled, e.g. chrome://flags/#enable-unsafe-webgpu), and open the page from https or localhost.',
      'no-webgpu',
    );
    return;
  }
  let e: kd.Engine;
  try {
    e = await kd.init();
  } catch (err) {
    showError('WebGPU is not available.', `${messageOf(err)} Try another browser, or enable hardware acceleration in the browser settings.`, 'no-webgpu');
    return;
  }
  report.adapter = e.adapter.description || `${e.adapter.vendor} ${e.adapter.architecture}`.trim();
  e.device.lost.then((info) => {
    if (info.reason !== 'destroyed') showError('The GPU device was lost.', `${info.message || 'no reason given'} — reload the page to start again.`);
  });

  let manifest: { full?: boolean } = {};
  try {
    const res = await fetch('./data/manifest.json');
    if (res.ok) manifest = (await res.json()) as { full?: boolean };
  } catch {
    // A static host without the manifest serves the shipped subset only.
  }
  if (manifest.full) ui.dataset.add(new Option('full Fashion-MNIST (60,000 / 10,000)', 'full'));
  if (params.get('data') === 'full' && manifest.full) ui.dataset.value = 'full';

  await loadData(ui.dataset.value);
  status('Loading the teacher…');
  teacher = loadTeacher(await fetchBytes('./teacher.safetensors'), 'teacher.safetensors');
  await evaluateTeacher();
  status(`Ready on ${report.adapter || 'WebGPU'}: ${report.dataset}; teacher ${(100 * report.teacher!.accuracy).toFixed(2)}%. Press Distill.`);
  busy(false);
  setState('ready');

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guarded(distillOnce)();
  });
  ui.stop.addEventListener('click', () => {
    signal.stopped = true;
    status('Stopping after the current step…');
  });
  ui.sweep.addEventListener('click', guarded(sweepOnce));
  ui.dataset.addEventListener('change', guarded(async () => {
    busy(true);
    await loadData(ui.dataset.value);
    await evaluateTeacher();
    status(`Ready: ${report.dataset}.`);
    busy(false);
    ui.stop.disabled = true;
  }));

  if (params.get('autorun') === '1') {
    await distillOnce();
    if (params.get('sweep') === '1') await sweepOnce();
  }
}

main().catch((e) => showError('The page could not start.', messageOf(e)));
