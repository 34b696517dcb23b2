/**
 * The `kdgpu` command line. Each subcommand lives in its own file (listed in commands.ts).
 * Errors in what the user asked for print one "kdgpu: …" message and exit 1, without a stack
 * (KDGPU_DEBUG=1 adds it); commander's own usage errors exit with commander's code.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ADAPTER_CHOICES, hasEngine, shutdown } from '../index.js';
import * as commands from './commands.js';
import { PACKAGE_ROOT } from './datasets.js';
import { choiceOption } from './options.js';
import { errorText } from './output.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function program(): Command {
  const p = new Command('kdgpu')
    .description('WebGPU tensor engine and knowledge-distillation toolkit')
    .version(version(), '-V, --version')
    .addOption(choiceOption('--adapter <choice>', 'GPU adapter: auto (hardware, else llvmpipe, else SwiftShader), hardware, llvmpipe or swiftshader (env KDGPU_ADAPTER)', ADAPTER_CHOICES))
    .showSuggestionAfterError(true)
    .exitOverride(); // errors come back to run() as CommanderError instead of exiting there
  for (const make of Object.values(commands)) p.addCommand(make().exitOverride());
  return p;
}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: string[] = process.argv): Promise<number> {
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    // Commander already printed its message (or the help/version text).
    if (e instanceof CommanderError) return e.exitCode;
    process.stderr.write(`${errorText(e)}\n`);
    if (process.env.KDGPU_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return 1;
  } finally {
    if (hasEngine()) shutdown();
  }
}

/** Exits once stdout has been handed to the OS (Dawn's threads would otherwise keep the process alive). */
export async function runAndExit(argv: string[] = process.argv): Promise<never> {
  // Errors escaping into callbacks or timers: still one line, not a stack.
  const fatal = (e: unknown) => {
    process.stderr.write(`${errorText(e)}\n`);
    if (process.env.KDGPU_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  };
  process.on('unhandledRejection', fatal);
  process.on('uncaughtException', fatal);
  const code = await run(argv);
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  process.exit(code);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runAndExit();
