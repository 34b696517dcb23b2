/**
 * kdgpu on each CPU adapter, side by side in one run: llvmpipe (Mesa, through Dawn's OpenGL ES
 * backend) and SwiftShader (Vulkan), the same kernels and the same work. One engine per process,
 * so each adapter lives in a child process of its own (kept warm for the whole run), and every
 * repetition runs the case on each adapter in turn (the order alternating), with a garbage
 * collection and an idle pause before each timed run. Prints medians and SwiftShader ÷ llvmpipe,
 * and writes bench/results/adapters.json.
 *
 *   npx tsx bench/adapters.ts [--reps 5] [--batch 256] [--adapters llvmpipe,swiftshader]
 *                             [--only mlp,cnn,distill,matmul] [--out FILE] [--markdown]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as kd from '../src/index.js';
import { kdMatmul, matmulFlops } from './lib/matmul-runners.js';
import { kdDistillStep, kdTrainStep, trainStepFlops, forwardFlops } from './lib/steps-kdgpu.js';
import { median, settler } from './lib/timing.js';

const HERE = dirname(fileURLToPath(import.meta.url));

interface CaseSpec {
  key: string;
  name: string;
  flops: (batch: number) => number;
}

const CASES: CaseSpec[] = [
  { key: 'mlp', name: 'train step mnist-mlp-student', flops: (B) => trainStepFlops(kd.nn.buildModel('mnist-mlp-student'), B) },
  { key: 'cnn', name: 'train step mnist-cnn-small', flops: (B) => trainStepFlops(kd.nn.buildModel('mnist-cnn-small'), B) },
  {
    key: 'distill',
    name: 'distill step hinton-mlp-teacher → mnist-mlp-student',
    flops: (B) => forwardFlops(kd.nn.buildModel('hinton-mlp-teacher'), B) + trainStepFlops(kd.nn.buildModel('mnist-mlp-student'), B),
  },
  { key: 'matmul', name: 'matmul 1024', flops: () => matmulFlops(1024, 1024, 1024) },
];

type ToChild = { type: 'prepare'; key: string; batch: number; warmup: number } | { type: 'run' } | { type: 'dispose' } | { type: 'exit' };
type FromChild = { type: 'ready'; adapter: kd.AdapterDescription } | { type: 'prepared' } | { type: 'ran'; ms: number } | { type: 'disposed' } | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------
// Child: one engine on the adapter named by KDGPU_ADAPTER, running what the parent asks.

async function child(): Promise<void> {
  const send = (m: FromChild) => process.send!(m);
  try {
    const engine = await kd.init();
    const settle = settler(0);
    let runner: { run(): Promise<unknown>; dispose(): void } | null = null;
    send({ type: 'ready', adapter: engine.adapter });
    process.on('message', async (m: ToChild) => {
      try {
        if (m.type === 'prepare') {
          const B = m.batch;
          runner =
            m.key === 'mlp' ? kdTrainStep(engine, 'mnist-mlp-student', B)
            : m.key === 'cnn' ? kdTrainStep(engine, 'mnist-cnn-small', B)
            : m.key === 'distill' ? kdDistillStep(engine, { teacher: 'hinton-mlp-teacher', student: 'mnist-mlp-student', temperature: 4, alpha: 0.9 }, B)
            : kdMatmul(engine, 1024, 1024, 1024);
          for (let i = 0; i < m.warmup; i++) await runner.run();
          send({ type: 'prepared' });
        } else if (m.type === 'run') {
          await settle();
          const t0 = performance.now();
          await runner!.run();
          send({ type: 'ran', ms: performance.now() - t0 });
        } else if (m.type === 'dispose') {
          runner?.dispose();
          runner = null;
          send({ type: 'disposed' });
        } else if (m.type === 'exit') {
          process.disconnect();
        }
      } catch (e) {
        send({ type: 'error', message: (e as Error).stack ?? String(e) });
      }
    });
  } catch (e) {
    send({ type: 'error', message: (e as Error).message });
  }
}

// ---------------------------------------------------------------------------------------------
// Parent.

class Worker {
  private queue: ((m: FromChild) => void)[] = [];
  adapter!: kd.AdapterDescription;
  constructor(
    readonly choice: string,
    private proc: ChildProcess,
  ) {
    proc.on('message', (m: FromChild) => {
      const next = this.queue.shift();
      if (m.type === 'error') throw new Error(`${choice}: ${m.message}`);
      next?.(m);
    });
    proc.on('exit', (code) => {
      if (code !== 0 && this.queue.length) throw new Error(`${choice}: the child exited with code ${code}`);
    });
  }
  next(): Promise<FromChild> {
    return new Promise((r) => this.queue.push(r));
  }
  async ask(m: ToChild): Promise<FromChild> {
    const reply = this.next();
    this.proc.send(m);
    return reply;
  }
  exit(): void {
    this.proc.send({ type: 'exit' });
  }
}

async function startWorker(choice: string): Promise<Worker> {
  const proc = fork(fileURLToPath(import.meta.url), ['--child'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, KDGPU_ADAPTER: choice },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  proc.stderr!.on('data', () => {}); // Dawn's start-up notes
  const w = new Worker(choice, proc);
  const ready = await w.next();
  if (ready.type !== 'ready') throw new Error(`${choice}: did not start`);
  w.adapter = ready.adapter;
  return w;
}

export interface AdapterBenchResult {
  date: string;
  cpuCores: number;
  node: string;
  reps: number;
  batch: number;
  adapters: { choice: string; kind: string; description: string; reason: string }[];
  cases: { name: string; flops: number; ms: Record<string, number[]>; median: Record<string, number>; gflops: Record<string, number>; ratio: number | null }[];
}

async function parent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      reps: { type: 'string', default: '5' },
      batch: { type: 'string', default: '256' },
      warmup: { type: 'string', default: '2' },
      'settle-ms': { type: 'string', default: '100' },
      adapters: { type: 'string', default: 'llvmpipe,swiftshader' },
      only: { type: 'string' },
      out: { type: 'string', default: join(HERE, 'results', 'adapters.json') },
      markdown: { type: 'boolean', default: false },
    },
  });
  const reps = Number(values.reps);
  const batch = Number(values.batch);
  const warmup = Number(values.warmup);
  const settleMs = Number(values['settle-ms']);
  const choices = values.adapters!.split(',');
  const only = values.only ? values.only.split(',') : null;
  for (const [k, v] of Object.entries({ reps, batch, warmup, settleMs })) {
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`bench/adapters: --${k} must be a non-negative integer`);
  }
  await kd.init({ adapter: 'swiftshader' }); // only for summaries (FLOP counts); not timed
  const cases = CASES.filter((c) => !only || only.includes(c.key));
  const log = (s: string) => process.stderr.write(`${s}\n`);

  const workers: Worker[] = [];
  for (const c of choices) workers.push(await startWorker(c));
  for (const w of workers) log(`${w.choice}: ${w.adapter.description || w.adapter.device} (${w.adapter.reason})`);

  const result: AdapterBenchResult = {
    date: new Date().toISOString(),
    cpuCores: cpus().length,
    node: process.version,
    reps,
    batch,
    adapters: workers.map((w) => ({ choice: w.choice, kind: w.adapter.kind, description: w.adapter.description || w.adapter.device, reason: w.adapter.reason })),
    cases: [],
  };
  const pause = () => new Promise((r) => setTimeout(r, settleMs));
  for (const c of cases) {
    const ms: Record<string, number[]> = Object.fromEntries(workers.map((w) => [w.choice, []]));
    for (const w of workers) await w.ask({ type: 'prepare', key: c.key, batch, warmup });
    for (let r = 0; r < reps; r++) {
      const order = r % 2 === 0 ? workers : [...workers].reverse();
      for (const w of order) {
        await pause();
        const reply = await w.ask({ type: 'run' });
        if (reply.type !== 'ran') throw new Error(`${w.choice}: unexpected reply ${reply.type}`);
        ms[w.choice].push(reply.ms);
      }
    }
    for (const w of workers) await w.ask({ type: 'dispose' });
    const flops = c.flops(batch);
    const med = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, median(v)]));
    const gflops = Object.fromEntries(Object.entries(med).map(([k, v]) => [k, flops / v / 1e6]));
    const ratio = med.swiftshader !== undefined && med.llvmpipe !== undefined ? med.swiftshader / med.llvmpipe : null;
    result.cases.push({ name: c.name, flops, ms, median: med, gflops, ratio });
    log(`${c.name}: ${Object.entries(med).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(', ')}${ratio !== null ? `; swiftshader ÷ llvmpipe ${ratio.toFixed(2)}×` : ''}`);
  }
  for (const w of workers) w.exit();

  mkdirSync(dirname(values.out!), { recursive: true });
  const tmp = `${values.out}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(tmp, values.out!);
  console.log(formatAdapterTable(result, values.markdown!));
  log(`wrote ${values.out}`);
  kd.shutdown();
}

/** The results as a table: median ms and GFLOP/s per adapter, then SwiftShader ÷ llvmpipe. */
export function formatAdapterTable(r: AdapterBenchResult, markdown: boolean): string {
  const names = r.adapters.map((a) => a.choice);
  const head = ['case', ...names.flatMap((n) => [`${n} ms`, `${n} GFLOP/s`]), 'swiftshader ÷ llvmpipe'];
  const rows = r.cases.map((c) => [c.name, ...names.flatMap((n) => [c.median[n].toFixed(1), c.gflops[n].toFixed(2)]), c.ratio === null ? '—' : `${c.ratio.toFixed(2)}×`]);
  const caption = `Median ms of ${r.reps} alternating repetitions, batch ${r.batch}, ${r.cpuCores} CPU cores, ${r.date.slice(0, 10)}; ${r.adapters.map((a) => `${a.choice}: ${a.description}`).join('; ')}`;
  if (markdown) {
    return [caption, '', `| ${head.join(' | ')} |`, `| --- | ${head.slice(1).map(() => '---:').join(' | ')} |`, ...rows.map((x) => `| ${x.join(' | ')} |`)].join('\n');
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const fmt = (x: string[]) => x.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  return [caption, fmt(head), ...rows.map(fmt)].join('\n');
}

if (process.argv.includes('--child')) await child();
else await parent();
