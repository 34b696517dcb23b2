/**
 * The device bundle's script (scripts/device-bundle.ts bundles it with esbuild; run.sh runs it
 * with the bundle's Node): prints the adapter (as `kdgpu info`), runs the correctness subset
 * (check.ts), the A/B of the GPU matmul plans (plans.ts) and the bench (bench.ts), and writes
 * report.md and report.json to the output folder (after each phase, so a run cut short still
 * leaves a report).
 *
 *   node kdgpu-device.mjs [--small] [--out DIR] [--no-check] [--no-bench] [--python PATH|none] [--data DIR]
 *
 * --out defaults to $OUT, else ./device-report; --data (the Fashion-MNIST subset of the parity
 * check) to ./data/fashion-mnist; fixtures are read from ./test/fixtures. On a CPU adapter the
 * sizes are --small's. Exit status 1 when a correctness check failed, 2 on a usage error, 3 when no
 * adapter was found (the reports say why).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as kd from '../../src/index.js';
import { allCases, markdownTable, type SuiteResult } from '../lib/suite-report.js';
import { runBench } from './bench.js';
import { runChecks, type CheckResult } from './check.js';
import { planMarkdown, runPlanBench, type PlanBench } from './plans.js';

interface Args {
  small: boolean;
  out: string;
  check: boolean;
  bench: boolean;
  python: string | null;
  data: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { small: false, out: process.env.OUT || 'device-report', check: true, bench: true, python: 'python3', data: join('data', 'fashion-mnist') };
  for (let i = 0; i < argv.length; i++) {
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--small':
        a.small = true;
        break;
      case '--out':
        a.out = v();
        break;
      case '--no-check':
        a.check = false;
        break;
      case '--no-bench':
        a.bench = false;
        break;
      case '--python': {
        const p = v();
        a.python = p === 'none' ? null : p;
        break;
      }
      case '--data':
        a.data = v();
        break;
      default:
        throw new Error(`unknown argument '${argv[i]}'`);
    }
  }
  return a;
}

let args: Args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`kdgpu-device: ${(e as Error).message}`);
  process.exit(2);
}
const outDir = resolve(args.out);
mkdirSync(outDir, { recursive: true });
const log = (line: string) => console.log(line);
const t0 = performance.now();

let engine: kd.Engine;
try {
  engine = await kd.init();
} catch (e) {
  // No adapter: the reports say so (run.log has the whole message).
  const msg = (e as Error).message;
  console.error(msg);
  const date = new Date().toISOString();
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify({ kind: 'kdgpu device check', date, small: args.small, error: msg }, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), `# kdgpu device check\n\n${date.slice(0, 19).replace('T', ' ')} UTC: no WebGPU adapter.\n\n\`\`\`\n${msg}\n\`\`\`\n`);
  process.exit(3);
}
const a = engine.adapter;
// Full sizes on a CPU adapter would not end within the device machine's minutes.
const notes: string[] = [];
if (a.software && !args.small) {
  args.small = true;
  notes.push(`The adapter runs on the CPU (${a.kind}): --small sizes were used.`);
}
const lim = engine.limits as unknown as Record<string, number>;
const limits = Object.fromEntries(kd.KEY_LIMITS.map((k) => [k, lim[k]]));
const info = { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description, software: a.software, kind: a.kind, backend: a.backend, reason: a.reason, features: a.features, limits, node: process.version };
log(`adapter       ${a.kind === 'llvmpipe' || a.kind === 'swiftshader' ? `${a.kind}: ` : ''}${a.description || a.device || '(no description)'}${a.software ? '  [software: runs on the CPU]' : ''}`);
log(`backend       ${a.backend || '—'}`);
log(`why           ${a.reason || '—'}`);
log(`vendor        ${a.vendor || '—'}`);
log(`architecture  ${a.architecture || '—'}`);
log(`device        ${a.device || '—'}`);
log(`features      ${a.features.join(', ') || '—'}`);
log(`limits        ${kd.KEY_LIMITS.map((k) => `${k} ${lim[k]}`).join(', ')}`);
for (const n of notes) log(`note          ${n}`);
log(`machine       ${cpus().length} CPU cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}`);

interface Report {
  kind: 'kdgpu device check';
  date: string;
  small: boolean;
  adapter: typeof info;
  cpu: { cores: number; model: string };
  checks: CheckResult[] | null;
  checksPassed: boolean | null;
  bench: SuiteResult | null;
  /** The GPU matmul plans, each forced (plans.ts). */
  plans: PlanBench | null;
  /** Notes on the run (e.g. --small taken for a CPU adapter). */
  notes: string[];
  benchNotes: string[];
  benchError: string | null;
  seconds: number;
}

const report: Report = {
  kind: 'kdgpu device check',
  date: new Date().toISOString(),
  small: args.small,
  adapter: info,
  cpu: { cores: cpus().length, model: cpus()[0]?.model ?? '' },
  checks: null,
  checksPassed: null,
  bench: null,
  plans: null,
  notes,
  benchNotes: [],
  benchError: null,
  seconds: 0,
};

function markdown(r: Report): string {
  const ad = r.adapter;
  const lines = [
    `# kdgpu device check${r.small ? ' (--small)' : ''}`,
    '',
    `${r.date.slice(0, 19).replace('T', ' ')} UTC, ${r.seconds.toFixed(0)} s.`,
    '',
    `- Adapter: ${ad.description || ad.device || '(no description)'} — vendor ${ad.vendor || '—'}, architecture ${ad.architecture || '—'}, kind ${ad.kind}, backend ${ad.backend || '—'}${ad.software ? ' (software: runs on the CPU)' : ''}`,
    `- Why: ${ad.reason || '—'}`,
    `- Features: ${ad.features.join(', ') || '—'}`,
    `- Machine: ${r.cpu.cores} CPU cores (${r.cpu.model}); Node ${ad.node}`,
    ...r.notes.map((n) => `- ${n}`),
    '',
    '## Correctness',
    '',
  ];
  if (!r.checks) lines.push('Not run.');
  else {
    const passed = r.checks.filter((c) => c.ok).length;
    lines.push(`${passed} of ${r.checks.length} passed.`, '', '| check | result | s | detail |', '| --- | --- | ---: | --- |');
    for (const c of r.checks) lines.push(`| ${c.name} | ${c.ok ? 'ok' : '**FAIL**'} | ${(c.ms / 1000).toFixed(1)} | ${c.detail.replace(/\|/g, '\\|')} |`);
  }
  lines.push('', '## Matmul plans', '');
  lines.push(r.plans ? planMarkdown(r.plans) : 'Not run.');
  lines.push('', '## Bench', '');
  if (r.bench) {
    lines.push(markdownTable(r.bench, true), '');
    for (const [p, d] of Object.entries(r.bench.peers)) lines.push(`- ${p}: ${d}`);
    // Which kernel kdgpu took for each matmul, and each case's shape.
    for (const c of allCases(r.bench)) if (c.note) lines.push(`- ${c.name}: ${c.note}`);
  } else lines.push(r.benchError ? `Failed: ${r.benchError}` : 'Not run.');
  for (const n of r.benchNotes) lines.push(`- ${n}`);
  return `${lines.join('\n')}\n`;
}

function write(): void {
  report.seconds = (performance.now() - t0) / 1000;
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'report.md'), markdown(report));
}

write();
if (args.check) {
  log('\ncorrectness:');
  report.checks = await runChecks({ small: args.small, dataDir: resolve(args.data), log });
  report.checksPassed = report.checks.every((c) => c.ok);
  log(`  ${report.checks.filter((c) => c.ok).length} of ${report.checks.length} passed`);
  write();
}
if (args.bench) {
  log('\nmatmul plans (each forced):');
  try {
    report.plans = await runPlanBench(engine, { small: args.small, log });
  } catch (e) {
    log(`matmul plans failed: ${(e as Error).message.split('\n')[0]}`);
  }
  write();
  log('\nbench:');
  try {
    const { result, notes: benchNotes } = await runBench(engine, { small: args.small, python: args.python, torchScript: existsSync('torch_cuda.py') ? resolve('torch_cuda.py') : resolve('bench', 'device', 'torch_cuda.py'), log });
    report.bench = result;
    report.benchNotes = benchNotes;
    log('');
    log(markdownTable(result, true));
    for (const n of benchNotes) log(`- ${n}`);
  } catch (e) {
    report.benchError = (e as Error).message.split('\n')[0];
    log(`bench failed: ${report.benchError}`);
  }
}
write();
log(`\nwrote ${join(outDir, 'report.md')} and ${join(outDir, 'report.json')} (${report.seconds.toFixed(0)} s)`);
process.exit(report.checksPassed === false ? 1 : 0);
