/** Checkpoint and weight files for `kdgpu train`: atomic writes, early checks, resume hints. */
import { basename, dirname, extname, join } from 'node:path';
import { readSafetensorsFile, writeFileAtomic, type nn } from '../index.js';
import { CliError } from './output.js';

/** Writes via a temporary file, fsync and a rename, so a reader (or a kill) never sees half a file. */
export const writeAtomic = (path: string, bytes: Uint8Array): void => writeFileAtomic(path, bytes);

/** A checkpoint written by fit (kdgpu metadata with the epoch), checked before the GPU starts. */
export function readCheckpoint(path: string): nn.WeightsFile & { epoch: number } {
  const f = readSafetensorsFile(path, 'checkpoint file');
  let epoch: unknown;
  try {
    epoch = (JSON.parse(f.metadata.kdgpu ?? 'null') as { epoch?: unknown } | null)?.epoch;
  } catch {
    epoch = undefined;
  }
  if (typeof epoch !== 'number') throw new CliError(`${path} is not a kdgpu training checkpoint (written by \`kdgpu train --checkpoint\`)`);
  return { ...f, epoch };
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
