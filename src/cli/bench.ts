/**
 * `kdgpu bench [NAME] [ARGS...]`: lists the benchmarks in bench/ (a checkout of the repository,
 * not the npm package), or runs one as a child process through tsx with ARGS passed on. The
 * benchmark scripts have no quick mode; their own options (e.g. `--sizes 256 --reps 1 --no-tf`
 * for matmul) keep a run short.
 *
 * JSON (list): { benchmarks: [{ name, file, usage, description }] }
 * JSON (run):  { benchmark, args, exitCode, seconds, resultsFile (or null), results (that file's
 *                JSON, or null) }; the benchmark's own output goes to stderr.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { PACKAGE_ROOT } from './datasets.js';
import { jsonOption } from './options.js';
import { CliError, Reporter } from './output.js';

const BENCH_DIR = join(PACKAGE_ROOT, 'bench');

interface Benchmark {
  name: string;
  file: string;
  usage: string;
  description: string;
}

/** Scripts whose doc comment shows how to run them (`npx tsx bench/NAME.ts …`); helpers have none. */
export function listBenchmarks(): Benchmark[] {
  if (!existsSync(BENCH_DIR)) throw new CliError(`no bench/ folder at ${PACKAGE_ROOT}; the benchmarks run from a clone of the repository`);
  const found: Benchmark[] = [];
  for (const f of readdirSync(BENCH_DIR).filter((n) => n.endsWith('.ts')).sort()) {
    const text = readFileSync(join(BENCH_DIR, f), 'utf8');
    const doc = /^\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
    const lines = doc.split('\n').map((l) => l.replace(/^\s*\* ?/, '').trim());
    const usageAt = lines.findIndex((l) => l.startsWith(`npx tsx bench/${f}`));
    if (usageAt < 0) continue;
    // The usage may continue on indented lines that start with an option.
    let usage = lines[usageAt].replace(`npx tsx bench/${f}`, '').trim();
    for (let i = usageAt + 1; i < lines.length && lines[i].startsWith('['); i++) usage += ` ${lines[i]}`;
    const first = lines.findIndex((l) => l !== '');
    const end = lines.indexOf('', first);
    const description = lines.slice(first, end < 0 ? undefined : end).join(' ');
    found.push({ name: f.replace(/\.ts$/, ''), file: `bench/${f}`, usage, description });
  }
  return found;
}

function newestResult(name: string, since: number): string | null {
  const dir = join(BENCH_DIR, 'results');
  if (!existsSync(dir)) return null;
  const files = readdirSync(dir)
    // The suite names its file after the adapter alone (bench/results/<adapter>.json).
    .filter((n) => (name === 'suite' || n.startsWith(`${name}-`)) && n.endsWith('.json'))
    .map((n) => ({ p: join(dir, n), t: statSync(join(dir, n)).mtimeMs }))
    .filter((f) => f.t >= since)
    .sort((a, b) => b.t - a.t);
  return files[0]?.p ?? null;
}

async function benchAction(name: string | undefined, args: string[], o: { json?: boolean }): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const all = listBenchmarks();
  if (name === undefined) {
    out.result({ benchmarks: all });
    out.say(['benchmarks (kdgpu bench NAME [options]):', ...all.flatMap((b) => [`  ${b.name.padEnd(8)} ${b.description}`, `           options: ${b.usage || 'none'}`])].join('\n'));
    return;
  }
  const b = all.find((x) => x.name === name);
  if (!b) throw new CliError(`unknown benchmark '${name}'; benchmarks: ${all.map((x) => x.name).join(', ')}`);
  const start = Date.now();
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, join(BENCH_DIR, `${name}.ts`), ...args], {
    cwd: PACKAGE_ROOT,
    stdio: ['inherit', o.json ? process.stderr : 'inherit', 'inherit'],
  });
  // Ctrl-C reaches the child through the terminal; wait for it rather than dying first.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  const code = await new Promise<number>((done, fail) => {
    child.on('error', fail);
    child.on('exit', (c, sig) => done(c ?? (sig === 'SIGINT' ? 130 : 1)));
  }).finally(() => process.removeListener('SIGINT', ignore));
  const resultsFile = code === 0 ? newestResult(name, start - 1000) : null;
  out.result({ benchmark: name, args, exitCode: code, seconds: (Date.now() - start) / 1000, resultsFile, results: resultsFile ? JSON.parse(readFileSync(resultsFile, 'utf8')) : null });
  if (code !== 0) process.exitCode = code;
}

export default function benchCommand(): Command {
  return new Command('bench')
    .description('list the benchmarks in bench/, or run one (options after the name go to the benchmark)')
    .argument('[name]', 'benchmark to run (omit to list them)')
    .argument('[args...]', "the benchmark's own options, e.g. --sizes 256,512 --reps 1 --no-tf")
    .addOption(jsonOption())
    .allowUnknownOption()
    .action((name: string | undefined, args: string[], opts: { json?: boolean }) => benchAction(name, args, opts));
}
