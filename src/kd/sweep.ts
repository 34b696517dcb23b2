/** Hyperparameter grids and sequential sweeps over them (browser-safe: no Node built-ins). */
import type { ConfigValue, RunRecord } from './types.js';

/** Temperatures swept in the experiments. */
export const T_GRID: number[] = [1, 2, 4, 16, 32, 64];
/** Weights of the soft (distillation) loss swept in the experiments. */
export const ALPHA_GRID: number[] = [0.1, 0.3, 0.5, 0.7, 0.9];

/** Axis name → the values it takes. */
export type Grid = Record<string, readonly ConfigValue[]>;

/** The runs of a sweep, with the grid and seeds that produced them. */
export interface SweepResult<R extends RunRecord = RunRecord> {
  /** The grid swept. */
  grid: Grid;
  /** The seeds each grid point ran with. */
  seeds: number[];
  /** Grid points in `expandGrid` order, each with every seed in `seeds` order. */
  runs: R[];
}

/** Options for `runSweep`. */
export interface SweepOptions<R extends RunRecord> {
  /** The axes to sweep; every combination runs. */
  grid: Grid;
  /** Default [0]. */
  seeds?: number[];
  /** Runs one grid point (a copy of its config) with one seed; `index` counts runs from 0. */
  run: (config: Record<string, ConfigValue>, seed: number, index: number) => Promise<R>;
  /** After each run; `i` counts from 0. */
  onRun?: (r: R, i: number, total: number) => void;
  /**
   * The records of runs already finished (a resumed sweep): the first `done.length` runs are taken
   * from here instead of run again. Each must have its run's seed and grid values.
   */
  done?: readonly R[];
}

function isConfigValue(v: unknown): v is ConfigValue {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Throws, naming the key, unless every axis is a non-empty array of distinct config values. */
export function validateGrid(grid: Grid): void {
  if (grid === null || typeof grid !== 'object' || Array.isArray(grid)) throw new Error('grid must be an object of key → values');
  for (const [key, values] of Object.entries(grid)) {
    if (!Array.isArray(values)) throw new Error(`grid key "${key}": values must be an array`);
    if (values.length === 0) throw new Error(`grid key "${key}": values must not be empty`);
    values.forEach((v, i) => {
      if (!isConfigValue(v)) throw new Error(`grid key "${key}": value #${i} (${String(v)}) is not a finite number, string, boolean or null`);
    });
    if (new Set(values).size !== values.length) throw new Error(`grid key "${key}": values must be distinct`);
  }
}

/**
 * The cartesian product of the grid's axes, in key order with the first key varying slowest
 * (like nested loops). An empty grid gives one empty config.
 */
export function expandGrid(grid: Grid): Record<string, ConfigValue>[] {
  validateGrid(grid);
  let points: Record<string, ConfigValue>[] = [{}];
  for (const [key, values] of Object.entries(grid)) {
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

/** Runs every grid point for every seed, one after another (runs share one GPU). */
export async function runSweep<R extends RunRecord>(opts: SweepOptions<R>): Promise<SweepResult<R>> {
  const seeds = opts.seeds ?? [0];
  if (seeds.length === 0) throw new Error('seeds must not be empty');
  for (const s of seeds) if (!Number.isInteger(s)) throw new Error(`seed ${s} is not an integer`);
  if (new Set(seeds).size !== seeds.length) throw new Error('seeds must be distinct');
  const points = expandGrid(opts.grid);
  const total = points.length * seeds.length;
  const runs: R[] = [];
  const done = opts.done ?? [];
  if (done.length > total) throw new Error(`${done.length} finished runs given for a sweep of ${total}`);
  for (const config of points) {
    for (const seed of seeds) {
      const prior = done[runs.length];
      if (prior) {
        const differs = prior.seed !== seed ? 'seed' : Object.keys(config).find((k) => k in prior.config && prior.config[k] !== config[k]);
        if (differs) throw new Error(`finished run ${runs.length + 1}/${total} (${prior.name}) does not match this sweep's (${JSON.stringify(config)}, seed ${seed}): ${differs} differs`);
        runs.push(prior);
        continue;
      }
      let r: R;
      try {
        r = await opts.run({ ...config }, seed, runs.length);
      } catch (e) {
        if ((e as Error)?.name === 'RunStoppedError') throw e; // a stop, not a failure: the caller resumes it
        // Say which run failed: a sweep can be long and the runner's error rarely names its config.
        throw new Error(`sweep run ${runs.length + 1}/${total} (${JSON.stringify(config)}, seed ${seed}) failed: ${(e as Error)?.message ?? e}`, { cause: e });
      }
      runs.push(r);
      opts.onRun?.(r, runs.length - 1, total);
    }
  }
  return { grid: opts.grid, seeds: [...seeds], runs };
}
