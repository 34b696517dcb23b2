/**
 * Output files and folders, checked before any work: the folder exists and can be written, the
 * output is not a folder, and it is none of the command's inputs (after resolving links, and by
 * inode, so a hard link counts too) nor another of its outputs. A command that would lose a
 * user's file, or finish its work and then fail to save it, refuses at once.
 */
import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CliError } from './output.js';

/** A path the command was given, and the option that gave it. */
export interface NamedPath {
  path: string | undefined;
  option: string;
}

/** Where a path leads: its real path (the folder's, for a file not yet there) and, if it exists, its inode. */
function identity(path: string): { real: string; ino?: string } {
  const abs = resolve(path);
  if (existsSync(abs)) {
    const st = statSync(abs);
    return { real: realpathSync(abs), ino: `${st.dev}:${st.ino}` };
  }
  const dir = dirname(abs);
  return { real: join(existsSync(dir) ? realpathSync(dir) : dir, basename(abs)) };
}

function same(a: string, b: string): boolean {
  const x = identity(a);
  const y = identity(b);
  return x.real === y.real || (x.ino !== undefined && x.ino === y.ino);
}

function writableFolder(dir: string, what: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${what}: folder ${dir} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliError(`${what}: folder ${dir} is not writable`);
  }
}

function notAnInput(path: string, what: string, inputs: NamedPath[]): void {
  for (const i of inputs) {
    if (i.path !== undefined && same(path, i.path)) {
      throw new CliError(`${what} is also ${i.option} ${i.path}: kdgpu never writes over an input; choose another file`);
    }
  }
}

/**
 * Checks output files (`--out`, `--checkpoint`, …) against each other and against the inputs;
 * undefined paths are skipped.
 */
export function checkOutputFiles(outputs: NamedPath[], inputs: NamedPath[]): void {
  const outs = outputs.filter((o): o is { path: string; option: string } => o.path !== undefined);
  for (const o of outs) {
    const what = `${o.option} ${o.path}`;
    if (existsSync(o.path) && statSync(o.path).isDirectory()) throw new CliError(`${what} is a folder, expected a file name`);
    writableFolder(dirname(resolve(o.path)), what);
    if (existsSync(o.path)) {
      try {
        accessSync(o.path, constants.W_OK);
      } catch {
        throw new CliError(`${what} exists and is not writable`);
      }
    }
    notAnInput(o.path, what, inputs);
  }
  for (let a = 0; a < outs.length; a++) {
    for (let b = a + 1; b < outs.length; b++) {
      if (same(outs[a].path, outs[b].path)) throw new CliError(`${outs[a].option} and ${outs[b].option} name the same file ${outs[a].path}; give each its own`);
    }
  }
}

/** The file a --dataset argument names, when it names one (an image folder's CSV). */
export function datasetInput(dataset: string): NamedPath {
  return { path: dataset.startsWith('images:') ? dataset.slice('images:'.length) : undefined, option: '--dataset' };
}

/**
 * Checks an output folder (`--out DIR`): a folder or nothing yet, whose parent can be written,
 * and holding none of the inputs where the command writes its files (`names`).
 */
export function checkOutputFolder(dir: string, option: string, names: string[], inputs: NamedPath[]): void {
  const what = `${option} ${dir}`;
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new CliError(`${what} is a file, expected a folder`);
    writableFolder(dir, what);
  } else {
    writableFolder(dirname(resolve(dir)), what);
  }
  for (const n of names) notAnInput(join(dir, n), `${what} (its ${n})`, inputs);
}
