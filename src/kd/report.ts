/** Sweep results as JSON and CSV, and per-value summaries (browser-safe: no Node built-ins). */
import type { SweepResult } from './sweep.js';
import type { ConfigValue, RunRecord } from './types.js';

/** Everything in the sweep, pretty-printed (NaN and ±Infinity become null, as JSON has neither). */
export function runsToJson(result: SweepResult): string {
  return JSON.stringify(result, null, 2);
}

type Cell = string | number | boolean | null | undefined;

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double the quotes inside. */
function csvField(v: Cell): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(header: string[], rows: Cell[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

const RUN_COLUMNS_BEFORE = ['name', 'seed'];
const RUN_COLUMNS_AFTER = ['data_hash', 'teacher_hash', 'test_accuracy', 'test_macro_f1', 'test_roc_auc', 'seconds', 'epochs'];

/**
 * One row per run: name, seed, one column per config key (union over runs, sorted; a key that
 * clashes with a fixed column is written as `config.KEY`), hashes, test metrics, seconds, epochs.
 */
export function runsToCsv(runs: RunRecord[]): string {
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].sort();
  const fixed = new Set([...RUN_COLUMNS_BEFORE, ...RUN_COLUMNS_AFTER]);
  const header = [...RUN_COLUMNS_BEFORE, ...keys.map((k) => (fixed.has(k) ? `config.${k}` : k)), ...RUN_COLUMNS_AFTER];
  const rows = runs.map((r) => [
    r.name,
    r.seed,
    ...keys.map((k) => r.config[k]),
    r.hashes.data,
    r.hashes.teacher,
    r.test.accuracy,
    r.test.macroF1,
    r.test.rocAuc,
    r.seconds,
    r.history.length,
  ]);
  return csv(header, rows);
}

/** One row per run per epoch; the val_ columns are empty for an epoch without validation. */
export function historyToCsv(runs: RunRecord[]): string {
  const header = ['name', 'seed', 'epoch', 'loss', 'val_accuracy', 'val_macro_f1', 'val_loss', 'seconds'];
  const rows = runs.flatMap((r) =>
    r.history.map((h) => [r.name, r.seed, h.epoch, h.loss, h.val?.accuracy, h.val?.macroF1, h.val?.loss, h.seconds]),
  );
  return csv(header, rows);
}

/** Test metrics of the runs sharing one value of a config key (see `summarizeBy`). */
export interface Summary {
  /** The config value the runs share. */
  value: ConfigValue;
  /** Runs with this value (usually one per seed). */
  n: number;
  /** Mean test accuracy. */
  accuracyMean: number;
  /** Sample standard deviation (n − 1); NaN when n = 1. */
  accuracyStd: number;
  /** Mean test macro F1. */
  macroF1Mean: number;
  /** Sample standard deviation of the macro F1 (n − 1); NaN when n = 1. */
  macroF1Std: number;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleStd(xs: number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * Mean and sample std of test accuracy and macro F1 per value of `config[key]`. Runs without the
 * key (a teacher in a T sweep) are left out. Numeric values come out ascending, others in order
 * of first appearance.
 */
export function summarizeBy(runs: RunRecord[], key: string): Summary[] {
  const groups = new Map<ConfigValue, RunRecord[]>();
  for (const r of runs) {
    if (!(key in r.config)) continue;
    const v = r.config[key];
    groups.set(v, [...(groups.get(v) ?? []), r]);
  }
  const values = [...groups.keys()];
  if (values.every((v) => typeof v === 'number')) (values as number[]).sort((a, b) => a - b);
  return values.map((value) => {
    const acc = groups.get(value)!.map((r) => r.test.accuracy);
    const f1 = groups.get(value)!.map((r) => r.test.macroF1);
    return { value, n: acc.length, accuracyMean: mean(acc), accuracyStd: sampleStd(acc), macroF1Mean: mean(f1), macroF1Std: sampleStd(f1) };
  });
}
