/**
 * `kdgpu sweep --checkpoint/--resume`: the sweep's state as one JSON file, written atomically: the
 * records of the finished runs, and the run in progress (its index, the place reached, its training
 * checkpoint in base64, the epochs it finished). Non-finite numbers (a class absent from the test
 * set has NaN accuracy) are kept as strings, so records come back exactly as they were.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic, type nn, type RunRecord } from '../index.js';
import { CliError } from './output.js';

/** What `kdgpu sweep` keeps between a stop and `--resume`. */
export interface SweepCheckpoint {
  kind: 'kdgpu-sweep-checkpoint';
  /** The sweep's settings (grid, seeds, data, training options): a resume must match them. */
  key: string;
  /** Records of the finished runs, in sweep order. */
  done: RunRecord[];
  /** The run in progress, when it has a checkpoint. */
  current: {
    /** Its index in the sweep (0-based): `done.length`. */
    run: number;
    /** Epochs finished. */
    epoch: number;
    /** Steps into the next epoch. */
    step: number;
    /** Its training checkpoint (nn.checkpointBytes), base64. */
    checkpoint: string;
    /** Its epochs finished before the stop. */
    history: nn.EpochLog[];
  } | null;
}

const NON_FINITE = new Map<string, number>([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
]);

/** Writes the state atomically (temporary file, fsync, rename). */
export function writeSweepCheckpoint(path: string, state: SweepCheckpoint): void {
  writeFileAtomic(path, JSON.stringify(state, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
}

/** Reads a sweep checkpoint and checks that it belongs to this sweep (`key`), before the GPU starts. */
export function readSweepCheckpoint(path: string, key: string): SweepCheckpoint {
  if (!existsSync(path) || !statSync(path).isFile()) throw new CliError(`--resume ${path}: no such file`);
  let state: SweepCheckpoint;
  try {
    state = JSON.parse(readFileSync(path, 'utf8'), (_k, v: unknown) => (typeof v === 'string' && NON_FINITE.has(v) ? NON_FINITE.get(v) : v)) as SweepCheckpoint;
  } catch {
    throw new CliError(`--resume ${path} is not a sweep checkpoint (not JSON)`);
  }
  if (state?.kind !== 'kdgpu-sweep-checkpoint' || !Array.isArray(state.done)) throw new CliError(`--resume ${path} is not a sweep checkpoint (written by \`kdgpu sweep\`)`);
  if (state.key !== key) throw new CliError(`--resume ${path} was written by a different sweep (other grid, seeds, data or training options); resume it with the command it printed`);
  if (state.current && state.current.run !== state.done.length) throw new CliError(`--resume ${path} is damaged (run in progress ${state.current.run + 1}, ${state.done.length} finished)`);
  return state;
}
