/**
 * Charts of sweep results as SVG strings, drawn with Vega-Lite (browser-safe: no Node built-ins;
 * vega's headless renderer needs no canvas). Each `…Spec` function returns the Vega-Lite spec,
 * each `plot…` function renders it.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { TransferRecipeResult } from './transfer-recipe.js';
import type { ConfigValue, RunRecord } from './types.js';

/** Plot area size; axes, legend and title come on top, so the SVG is larger than this. */
const WIDTH = 640;
const HEIGHT = 480;

/** The Vega-Lite `name` of the layer drawing one point per run and metric (SVG class `runs_marks`). */
export const RUN_POINTS_LAYER = 'runs';

/** The x axis of every per-epoch chart. */
const EPOCH_AXIS = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } } as const;

/** A final test metric of a RunRecord that the plots can show. */
export type TestMetric = 'accuracy' | 'macroF1';
const METRIC_LABEL: Record<TestMetric, string> = { accuracy: 'accuracy', macroF1: 'macro F1' };

/** Renders a Vega-Lite spec to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Options for `metricVsParamSpec` and `plotMetricVsParam`. */
export interface MetricVsParamOptions {
  /** The config key on the x axis: 'T', 'alpha', … */
  param: string;
  /** Default both. */
  metrics?: TestMetric[];
  /** Default: when every value is a positive number and max/min ≥ 16 (as for T). */
  logScaleX?: boolean;
  /** Chart title (default: "<metrics> vs <param>"). */
  title?: string;
}

/** Log scale pays off only when the values span orders of magnitude (T = 1…64, not α = 0.1…0.9). */
function wantsLog(values: ConfigValue[]): boolean {
  const nums = values.filter((v): v is number => typeof v === 'number');
  return nums.length === values.length && nums.length > 0 && Math.min(...nums) > 0 && Math.max(...nums) / Math.min(...nums) >= 16;
}

/** Test metric against a config key: one point per run (seeds shown individually), a line through the per-value means. */
export function metricVsParamSpec(runs: RunRecord[], opts: MetricVsParamOptions): TopLevelSpec {
  const metrics = opts.metrics ?? ['accuracy', 'macroF1'];
  if (metrics.length === 0) throw new Error('metricVsParamSpec: metrics must not be empty');
  const withParam = runs.filter((r) => opts.param in r.config);
  if (withParam.length === 0) throw new Error(`metricVsParamSpec: no run has config key "${opts.param}"`);
  const values = [...new Set(withParam.map((r) => r.config[opts.param]))];
  const numeric = values.every((v) => typeof v === 'number');
  const log = numeric && (opts.logScaleX ?? wantsLog(values));
  if (log && (values as number[]).some((v) => v <= 0)) throw new Error(`metricVsParamSpec: log scale needs positive "${opts.param}" values`);
  const data = withParam.flatMap((r) =>
    metrics.map((m) => ({
      run: r.name,
      seed: r.seed,
      // Non-numeric values (model names, flags) go on a nominal axis as text.
      x: numeric ? r.config[opts.param] : String(r.config[opts.param]),
      metric: METRIC_LABEL[m],
      value: r.test[m],
    })),
  );
  const x = numeric
    ? {
        field: 'x',
        type: 'quantitative' as const,
        title: opts.param,
        scale: log ? { type: 'log' as const, base: 2 } : { zero: false },
        // Ticks at the swept values only, not at the scale's round numbers.
        axis: { values: (values as number[]).sort((a, b) => a - b), format: '~g' },
      }
    : { field: 'x', type: 'ordinal' as const, title: opts.param, sort: null };
  const color = { field: 'metric', type: 'nominal' as const, title: 'metric', sort: metrics.map((m) => METRIC_LABEL[m]) };
  const yTitle = metrics.map((m) => `test ${METRIC_LABEL[m]}`).join(' / ');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title ?? `${yTitle} vs ${opts.param}`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: data },
    layer: [
      {
        name: RUN_POINTS_LAYER,
        mark: { type: 'point', filled: true, size: 60, opacity: 0.6 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: yTitle, scale: { zero: false } },
          color,
          tooltip: [{ field: 'run' }, { field: 'seed' }, { field: 'metric' }, { field: 'value', format: '.4f' }],
        },
      },
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: { x, y: { aggregate: 'mean', field: 'value', type: 'quantitative' }, color },
      },
    ],
  };
}

/** `metricVsParamSpec` rendered to an SVG string. */
export async function plotMetricVsParam(runs: RunRecord[], opts: MetricVsParamOptions): Promise<string> {
  return renderSvg(metricVsParamSpec(runs, opts));
}

/** Column names as in `historyToCsv`. */
export type CurveMetric = 'loss' | 'val_accuracy' | 'val_macro_f1' | 'val_loss';
const CURVE_LABEL: Record<CurveMetric, string> = {
  loss: 'training loss',
  val_accuracy: 'validation accuracy',
  val_macro_f1: 'validation macro F1',
  val_loss: 'validation loss',
};

/** Options for `trainingCurvesSpec` and `plotTrainingCurves`. */
export interface TrainingCurvesOptions {
  /** The per-epoch value on the y axis. */
  metric: CurveMetric;
  /** Colour lines by this config key (e.g. 'T') instead of by run: readable with many runs. */
  colorBy?: string;
  /** Chart title (default: "<metric> per epoch"). */
  title?: string;
}

/** One line per run of a per-epoch metric; epochs without validation are skipped for val_ metrics. */
export function trainingCurvesSpec(runs: RunRecord[], opts: TrainingCurvesOptions): TopLevelSpec {
  const pick = (h: RunRecord['history'][number]): number | undefined => {
    switch (opts.metric) {
      case 'loss': return h.loss;
      case 'val_accuracy': return h.val?.accuracy;
      case 'val_macro_f1': return h.val?.macroF1;
      case 'val_loss': return h.val?.loss;
    }
  };
  const colorBy = opts.colorBy;
  const data = runs.flatMap((r, id) =>
    r.history.flatMap((h) => {
      const value = pick(h);
      const group = colorBy === undefined ? r.name : String(r.config[colorBy] ?? '(none)');
      return value === undefined ? [] : [{ id, run: r.name, seed: r.seed, group, epoch: h.epoch, value }];
    }),
  );
  // Numeric values of the colour key in numeric order, others as they come.
  const groups = [...new Set(data.map((d) => d.group))];
  const numericOrder = colorBy !== undefined && runs.every((r) => typeof r.config[colorBy] === 'number');
  if (numericOrder) groups.sort((a, b) => Number(a) - Number(b));
  if (data.length === 0) throw new Error(`trainingCurvesSpec: no run has "${opts.metric}" in its history`);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title ?? `${CURVE_LABEL[opts.metric]} per epoch`,
    width: WIDTH,
    height: HEIGHT,
    data: { values: data },
    mark: { type: 'line', point: true },
    encoding: {
      x: EPOCH_AXIS,
      y: { field: 'value', type: 'quantitative', title: CURVE_LABEL[opts.metric], scale: { zero: false } },
      // One line per run, even when runs share a name or a colour.
      detail: { field: 'id', type: 'nominal' },
      color: { field: 'group', type: 'nominal', title: colorBy ?? 'run', sort: groups, legend: { labelLimit: 400 } },
      tooltip: [{ field: 'run' }, { field: 'seed' }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
    },
  };
}

/** `trainingCurvesSpec` rendered to an SVG string. */
export async function plotTrainingCurves(runs: RunRecord[], opts: TrainingCurvesOptions): Promise<string> {
  return renderSvg(trainingCurvesSpec(runs, opts));
}

const SCRATCH_LABEL = 'scratch (labels only)';
const KD_LABEL = 'distilled (teacher + labels)';

/** The two students' accuracy curves of `runTransferRecipe` (its `curves`), one line each. */
export function transferCurvesSpec(curves: TransferRecipeResult['curves'], opts: { title: string }): TopLevelSpec {
  const data = [...curves.scratch.map((c) => ({ student: SCRATCH_LABEL, ...c })), ...curves.kd.map((c) => ({ student: KD_LABEL, ...c }))];
  if (data.length === 0) throw new Error('transferCurvesSpec: both curves are empty');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: WIDTH,
    height: 400,
    data: { values: data },
    mark: { type: 'line', point: { size: 20 } },
    encoding: {
      x: EPOCH_AXIS,
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false }, axis: { format: '.0%' } },
      color: { field: 'student', type: 'nominal', title: 'student', sort: [KD_LABEL, SCRATCH_LABEL], legend: { orient: 'bottom-right', labelLimit: 400 } },
      tooltip: [{ field: 'student' }, { field: 'epoch' }, { field: 'accuracy', format: '.4f' }],
    },
  };
}

/** `transferCurvesSpec` rendered to an SVG string. */
export async function plotTransferCurves(curves: TransferRecipeResult['curves'], opts: { title: string }): Promise<string> {
  return renderSvg(transferCurvesSpec(curves, opts));
}

/** One bar of `comparisonBarsSpec`. */
export interface ComparisonEntry {
  /** Label on the x axis (a model or role). */
  name: string;
  /** Bar height: a test accuracy (or mean accuracy). */
  accuracy: number;
  /** Drawn as a ±std error bar when given. */
  std?: number;
}

/** Bars in the given order (teacher, assistant, student, scratch, …), with error bars where std is given. */
export function comparisonBarsSpec(entries: ComparisonEntry[], opts: { title: string; yTitle?: string }): TopLevelSpec {
  if (entries.length === 0) throw new Error('comparisonBarsSpec: no entries');
  const data = entries.map((e) => ({ name: e.name, accuracy: e.accuracy, std: e.std ?? null }));
  const y = { field: 'accuracy', type: 'quantitative' as const, title: opts.yTitle ?? 'test accuracy' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: opts.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: data },
    encoding: { x: { field: 'name', type: 'nominal', title: 'model', sort: null, axis: { labelAngle: 0 } } },
    layer: [
      { mark: { type: 'bar', width: { band: 0.6 } }, encoding: { y, tooltip: [{ field: 'name' }, { field: 'accuracy', format: '.4f' }, { field: 'std', format: '.4f' }] } },
      {
        transform: [{ filter: 'isValid(datum.std)' }],
        mark: { type: 'errorbar', ticks: { size: 16 }, thickness: 1.5, color: 'black' },
        encoding: { y, yError: { field: 'std' } },
      },
      {
        // The value above the bar, clear of its error bar.
        transform: [{ calculate: 'datum.accuracy + (isValid(datum.std) ? datum.std : 0)', as: 'top' }],
        mark: { type: 'text', dy: -6, baseline: 'bottom' },
        encoding: { y: { ...y, field: 'top' }, text: { field: 'accuracy', format: '.4f' } },
      },
    ],
  };
}

/** `comparisonBarsSpec` rendered to an SVG string. */
export async function plotComparisonBars(entries: ComparisonEntry[], opts: { title: string; yTitle?: string }): Promise<string> {
  return renderSvg(comparisonBarsSpec(entries, opts));
}
