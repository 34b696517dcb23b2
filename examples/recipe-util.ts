/**
 * What the distillation recipes (examples/kd-*.ts) share: the common command-line options, data
 * loading, a plain-text results table, and writing runs and comparison charts to the output folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import * as kd from '../src/index.js';

export interface CommonOptions {
  quick: boolean;
  dataDir?: string;
  out: string;
  seed: number;
  /** Overrides of the mode's training/test subset sizes and epochs. */
  train?: number;
  test?: number;
  epochs?: number;
  batch?: number;
}

export function intArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
}

export function positiveIntArg(v: string): number {
  const n = intArg(v);
  if (n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function numberArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

export function listArg(v: string): number[] {
  return v.split(',').map((s) => numberArg(s.trim()));
}

/** A commander program with the options every recipe takes; recipes add their own, then call `.parse()`. */
export function recipeProgram(name: string, description: string, dataHelp: string): Command {
  return new Command(name)
    .description(description)
    .option('--quick', 'a smoke run: tiny subsets, 1 epoch (see the recipe header)', false)
    .option('--data-dir <dir>', dataHelp)
    .option('--out <dir>', 'folder for results and plots', join('runs', name))
    .option('--seed <n>', 'seed of weights, shuffling and dropout', intArg, 0)
    .option('--train <n>', "training images (default: the mode's)", positiveIntArg)
    .option('--test <n>', "test images (default: the mode's)", positiveIntArg)
    .option('--epochs <n>', "epochs of every run (default: the mode's)", positiveIntArg)
    .option('--batch <n>', "batch size of every run (default: the mode's)", positiveIntArg);
}

/** MNIST from an IDX folder when given, else Fashion-MNIST (found by kd.fashionMnistDataset). */
export function loadMnistOrFashion(dataDir?: string): { name: string; train: kd.ArrayDataset; test: kd.ArrayDataset } {
  if (!dataDir) return { name: 'Fashion-MNIST', train: kd.fashionMnistDataset('train'), test: kd.fashionMnistDataset('test') };
  const hint = `Put the four MNIST IDX files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-…) in ${dataDir}.`;
  const load = (split: 'train' | 'test') => kd.fromImageSet(kd.loadMnistLike(split, [dataDir], 'MNIST', hint));
  return { name: `MNIST (${dataDir})`, train: load('train'), test: load('test') };
}

/** The first n samples (all of them when n is undefined or larger than the set). */
export function firstN(d: kd.ArrayDataset, n?: number): kd.ArrayDataset {
  return n === undefined || n >= d.count ? d : kd.take(d, 0, n);
}

/** Starts the GPU and prints what the run will do. */
export async function start(title: string, lines: Record<string, unknown>): Promise<void> {
  const engine = await kd.init();
  const a = engine.adapter;
  console.log(`\n${title}`);
  console.log(`  adapter: ${a.description || a.vendor}${a.software ? ' (software: slow)' : ''}`);
  for (const [k, v] of Object.entries(lines)) console.log(`  ${k}: ${String(v)}`);
  console.log('');
}

/** fit callbacks that print one progress line (or bar, on a terminal) per epoch, on stderr. */
export function progress(label: string, epochs: number): kd.nn.TrainCallbacks[] {
  return [new kd.ProgressBar({ label, epochs })];
}

export const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;

/** Prints a left-aligned text table. */
export function printTable(title: string, header: string[], rows: (string | number)[][]): void {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(cells[0]));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** The usual row of a run: name, test accuracy, macro F1, seconds. */
export function runRow(r: kd.RunRecord): string[] {
  return [r.name, pct(r.test.accuracy), r.test.macroF1.toFixed(4), r.seconds.toFixed(1)];
}
export const RUN_HEADER = ['run', 'test acc', 'macro F1', 'seconds'];

/** Test accuracy (mean ± sample std over seeds) per value of a swept config key. */
export function printSweep(title: string, result: kd.SweepResult, key: string): void {
  const rows = kd.summarizeBy(result.runs, key).map((s) => [
    String(s.value),
    pct(s.accuracyMean),
    s.n > 1 ? `± ${(100 * s.accuracyStd).toFixed(2)}` : '',
    s.macroF1Mean.toFixed(4),
    s.n,
  ]);
  printTable(title, [key, 'test acc', 'std', 'macro F1', 'seeds'], rows);
}

/** A model's parameter count, from kd.nn.summary. */
export function params(model: kd.nn.Module, inputShape: number[]): number {
  return kd.nn.summary(model, inputShape).params;
}

/** Writes results.json (the runs plus `extra`) and results.csv (one row per run) into `dir`. */
export function writeRuns(dir: string, runs: kd.RunRecord[], extra: Record<string, unknown> = {}): string[] {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const files = [join(out, 'results.json'), join(out, 'results.csv')];
  writeFileSync(files[0], JSON.stringify({ ...extra, runs }, null, 2));
  writeFileSync(files[1], kd.runsToCsv(runs));
  return files;
}

/** A bar chart of test accuracies as `name`.svg and `name`.png in `dir`. */
export async function writeBars(dir: string, name: string, entries: kd.ComparisonEntry[], title: string): Promise<string[]> {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const svg = await kd.plotComparisonBars(entries, { title });
  const files = [join(out, `${name}.svg`), join(out, `${name}.png`)];
  writeFileSync(files[0], svg);
  writeFileSync(files[1], kd.svgToPng(svg));
  return files;
}

export function finish(t0: number, files: string[]): void {
  console.log(`\nwrote ${files.length} files:`);
  for (const f of files) console.log(`  ${f}`);
  console.log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
