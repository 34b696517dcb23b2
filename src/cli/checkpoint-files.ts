/** Checkpoint and weight files for `kdgpu train`, `distill` and `sweep`: Ctrl-C, checkpoints read before the GPU starts, resume hints. */
import { basename, dirname, extname, join } from 'node:path';
import { readSafetensorsFile, type nn } from '../index.js';
import { CliError } from './output.js';


/** Where a checkpoint stands: epochs finished, and steps taken into the next (0 at an epoch's end). */
export interface CheckpointPlace {
  epoch: number;
  step: number;
}

/** The place recorded in a checkpoint's kdgpu metadata, or null when it has none. */
export function placeOf(metadata: Record<string, string>): CheckpointPlace | null {
  try {
    const m = JSON.parse(metadata.kdgpu ?? 'null') as { epoch?: unknown; step?: unknown } | null;
    if (typeof m?.epoch !== 'number') return null;
    return { epoch: m.epoch, step: typeof m.step === 'number' ? m.step : 0 };
  } catch {
    return null;
  }
}

/** "after epoch 2", "at step 5 of epoch 3" for a checkpoint written inside an epoch, or "before the first step". */
export function placeText(p: CheckpointPlace): string {
  if (p.epoch === 0 && p.step === 0) return 'before the first step';
  return p.step > 0 ? `at step ${p.step} of epoch ${p.epoch + 1}` : `after epoch ${p.epoch}`;
}

/** A checkpoint written by fit (kdgpu metadata with the epoch), checked before the GPU starts. */
export function readCheckpoint(path: string, writtenBy = 'kdgpu train --checkpoint'): nn.WeightsFile & CheckpointPlace {
  const f = readSafetensorsFile(path, 'checkpoint file');
  const place = placeOf(f.metadata);
  if (!place) throw new CliError(`${path} is not a kdgpu training checkpoint (written by \`${writtenBy}\`)`);
  return { ...f, ...place };
}

/**
 * Ctrl-C (SIGINT) sets the signal: training stops within a few steps and writes a checkpoint. A
 * second Ctrl-C quits at once with code 130; every file is written atomically (and synchronously),
 * so none is left half-written. Returns the function that removes the handler.
 */
export function onInterrupt(signal: { stopped: boolean }, say: (msg: string) => void): () => void {
  const handler = () => {
    if (signal.stopped) process.exit(130);
    signal.stopped = true;
    say('kdgpu: interrupted; stopping within a few steps and writing a checkpoint (Ctrl-C again to quit now)');
  };
  process.on('SIGINT', handler);
  if (process.env.KDGPU_TEST_SIGINT_AT === 'start') process.kill(process.pid, 'SIGINT');
  return () => process.removeListener('SIGINT', handler);
}

let stepsSeen = 0;

/**
 * Test hook: with KDGPU_TEST_SIGINT_AT=N (a number) the process sends itself SIGINT after its N-th
 * training step (1-based, counted over every run of the process), as a Ctrl-C during the next
 * step would; with 'start', as soon as the Ctrl-C handler is installed (before the GPU starts).
 */
export function testInterrupts(): nn.TrainCallbacks[] {
  const at = Number(process.env.KDGPU_TEST_SIGINT_AT);
  if (!Number.isInteger(at) || at < 1) return [];
  return [{ onStepEnd: () => void (++stepsSeen === at && process.kill(process.pid, 'SIGINT')) }];
}

/** Where an interrupted run without --checkpoint leaves its state. */
export function defaultCheckpointPath(out: string | undefined): string {
  if (!out) return 'kdgpu-checkpoint.safetensors';
  const ext = extname(out);
  return join(dirname(out), `${basename(out, ext)}.checkpoint${ext || '.safetensors'}`);
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** The command line that continues this run: the same arguments with --resume CHECKPOINT. */
export function resumeCommand(argv: string[], checkpoint: string): string {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--resume') i++;
    else if (!argv[i].startsWith('--resume=')) args.push(argv[i]);
  }
  return ['kdgpu', ...args, '--resume', checkpoint].map(quote).join(' ');
}
