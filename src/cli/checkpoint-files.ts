/** Checkpoint and weight files for `kdgpu train`: atomic writes, early checks, resume hints. */
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { readSafetensorsFile, type nn } from '../index.js';
import { CliError } from './output.js';

/** Writes via a temporary file and a rename, so a reader (or a Ctrl-C) never sees half a file. */
export function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

/** Fails before training when an output file could not be written at the end. */
export function checkWritable(path: string | undefined, option: string): void {
  if (path === undefined) return;
  const dir = dirname(path);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${option} ${path}: folder ${dir} does not exist`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new CliError(`${option} ${path} is a folder, expected a file name`);
}

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
