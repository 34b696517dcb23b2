/**
 * Distillation sweeps: one `distill` run per grid point and seed, e.g. T over T_GRID at
 * alpha 0.5, or alpha over ALPHA_GRID. Grid keys are DistillConfig fields (temperature, alpha,
 * labelTemperature, …); each run's student is built fresh from its seed, so runs of one seed
 * start from the same weights and see the same batches. The teacher's logits are computed once
 * (the cache) and reused by every run.
 */
import type { ArrayDataset } from '../data/dataset.js';
import type { Module } from '../nn/module.js';
import { runSweep, type Grid, type SweepResult } from './sweep.js';
import type { Teacher } from './teacher.js';
import type { ConfigValue, RunRecord } from './types.js';
import { distill, type DistillConfig } from './workflows.js';

const SWEEPABLE = new Set(['temperature', 'alpha', 'labelTemperature', 'epochs', 'lr', 'batchSize']);

/** Options for `sweepDistillation`. */
export interface DistillSweepOptions {
  /** Swept DistillConfig fields: temperature, alpha, labelTemperature, epochs, lr, batchSize. */
  grid: Grid;
  /** Seeds each grid point runs with. Default [0]. */
  seeds?: number[];
  /** A fresh student for a seed (same seed → same initial weights). */
  student: (seed: number) => Module;
  /** The teacher (a model or an ensemble), shared by every run. */
  teacher: Module | Teacher;
  /** Training set of every run. */
  train: ArrayDataset;
  /** Everything not swept (the grid's values override these). */
  config: Omit<DistillConfig, 'temperature'> & {
    /** Required unless the grid sweeps it. */
    temperature?: number;
  };
  /** After each run; \`i\` counts from 0. */
  onRun?: (r: RunRecord, i: number, total: number) => void;
  /** Records of the runs already finished (a resumed sweep): they are not run again. */
  done?: readonly RunRecord[];
  /** Per-epoch (and on a stop) checkpoints of the run in progress; `run` counts from 0. */
  checkpoint?: (bytes: Uint8Array, run: number, epoch: number) => void | Promise<void>;
  /** A checkpoint of the first run not in `done`, to continue it. */
  resumeFrom?: Uint8Array;
  /** Names `resumeFrom` in errors. */
  resumeName?: string;
}

/**
 * One \`distill\` run per grid point and seed, each with a fresh student; the runs' names say
 * their point and seed (e.g. "T=4 seed=0").
 */
export function sweepDistillation(opts: DistillSweepOptions): Promise<SweepResult> {
  for (const k of Object.keys(opts.grid)) {
    if (!SWEEPABLE.has(k)) throw new Error(`kdgpu: sweepDistillation: cannot sweep '${k}'; sweepable keys: ${[...SWEEPABLE].join(', ')}`);
  }
  return runSweep({
    grid: opts.grid,
    seeds: opts.seeds,
    onRun: opts.onRun,
    done: opts.done,
    run: async (point: Record<string, ConfigValue>, seed: number, index: number) => {
      const name = [...Object.entries(point).map(([k, v]) => `${k === 'temperature' ? 'T' : k}=${String(v)}`), `seed=${seed}`].join(' ');
      const first = index === (opts.done?.length ?? 0);
      const cfg = {
        ...opts.config,
        ...point,
        seed,
        name,
        checkpoint: opts.checkpoint ? (bytes: Uint8Array, epoch: number) => opts.checkpoint!(bytes, index, epoch) : opts.config.checkpoint,
        resumeFrom: first && opts.resumeFrom ? opts.resumeFrom : undefined,
        resumeName: opts.resumeName,
      } as DistillConfig;
      const student = opts.student(seed);
      try {
        return await distill(student, opts.teacher, opts.train, cfg);
      } finally {
        student.dispose(); // a sweep keeps records, not models: its GPU memory stays flat over the runs
      }
    },
  });
}
