/**
 * The benchmark suite: kdgpu side by side with TensorFlow.js's WebGPU backend (on kdgpu's own
 * GPUDevice), TensorFlow.js's WASM backend and PyTorch on the CPU, in one run on this machine.
 *
 *   npx tsx bench/suite.ts [--quick] [--reps 5] [--only matmul,conv,steps,distill,memory] [--no-tf]
 *                          [--no-tfjs-webgpu] [--no-wasm] [--no-wasm2] [--wasm-browser-1t] [--no-torch] [--torch-threads N]
 *                          [--memory-steps 2000] [--batch 256] [--sizes 256,512,1024,2048] [--conv2-size 27] [--tf-budget 30]
 *                          [--kd-teacher hinton-mlp-teacher] [--out FILE.json] [--no-chart] [--markdown]
 *                          [--markdown-from FILE.json]
 *
 * Sections: matmul (square sizes, and the adapter's vec4 FMA ceiling, bench/fma-ceiling.ts);
 * conv (the reference teacher's conv1 and conv2, forward + backward, bench/cnn.ts's rows); steps
 * (a training step — forward, cross-entropy, backward, Adam — of mnist-mlp-student and
 * mnist-cnn-small, plus kdgpu's matmul at the MLP's largest GEMM for the step's matmul-speed
 * bound); distill (a frozen teacher's forward without gradient + the student's step on the KD
 * loss); memory (the distillation step repeated --memory-steps times: engine.memory() at step 10
 * and at the last step). Every figure is the median of --reps repetitions that alternate between
 * the frameworks, after a warm-up run; every run is timed to completion (kdgpu: engine.sync(),
 * i.e. submit + onSubmittedWorkDone; tfjs-webgpu: submit + onSubmittedWorkDone; WASM and PyTorch
 * are synchronous; PyTorch runs in bench/suite_torch.py and times itself). tfjs-webgpu is slow on a
 * CPU adapter: a case it would take more than --tf-budget seconds per run for (estimated from a
 * smaller run) is skipped, and it repeats only while its time stays within the budget.
 *
 * PyTorch uses every core this process may use; --torch-threads N sets OMP_NUM_THREADS (on a
 * loaded machine its threads wait for each other, and one thread can be several times faster).
 *
 * tfjs-wasm runs twice: in Node (its one-thread SIMD build; Node cannot start the threaded one) and,
 * as tfjs-wasm-2t, its threaded SIMD build with 2 threads in headless Chromium on a cross-origin
 * isolated local page (bench/lib/wasm-browser.ts), which times each run itself; --wasm-browser-1t
 * adds the one-thread build in the same browser, to separate Node from browser from threads.
 *
 * --quick is a smoke run (matmul 64 and 128, batch 8, 2 repetitions, 20 memory steps). Writes
 * bench/results/<adapter>.json (or --out) and a chart beside it (.svg, .png); --markdown also
 * prints the Markdown table, and --markdown-from FILE prints it for an existing results file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { distillCases, distillSpec, matmulCases, MLP_GEMM_NAME, stepCaseName, stepCases, type CaseContext } from './lib/suite-cases.js';
import { convCases } from './lib/suite-conv-cases.js';
import { writeSuiteChart } from './lib/suite-chart.js';
import { measureCase, type CaseResult, type Peer, type SuiteCase } from './lib/suite-harness.js';
import { measureMemory } from './lib/suite-memory.js';
import { parseSuiteOptions, USAGE } from './lib/suite-options.js';
import { markdownTable, matmulBound, printTable, type SuiteResult } from './lib/suite-report.js';
import { initTfjsWasm, initTfjsWebgpu, tf } from './lib/tfjs.js';
import { adapterSlug, settler } from './lib/timing.js';
import { TorchServer } from './lib/torch-server.js';
import { WasmBrowser } from './lib/wasm-browser.js';
import type { BrowserWasmPages } from './lib/suite-peers.js';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
let opts;
try {
  opts = parseSuiteOptions(argv);
} catch (e) {
  console.error(`bench/suite.ts: ${(e as Error).message} (--help lists the options)`);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
if (opts.markdownFrom) {
  console.log(markdownTable(JSON.parse(readFileSync(opts.markdownFrom, 'utf8')) as SuiteResult));
  process.exit(0);
}

const log = (line: string) => console.log(line);
const t0 = performance.now();
const loadStart = loadavg();
const engine = await kd.init();
const a = engine.adapter;
log(`kdgpu bench suite — adapter: ${a.description || a.architecture} (${a.vendor}${a.software ? ', software' : ''}); ${cpus().length} CPU cores; node ${process.version}`);
log(`command: npx tsx bench/suite.ts ${argv.join(' ')}`.trimEnd());

const peers: Partial<Record<Peer, string>> = { kdgpu: `kdgpu on ${a.description || a.architecture} (Dawn, node package webgpu)` };
let torch: TorchServer | null = null;
if (opts.torch) {
  torch = new TorchServer(join(here, 'suite_torch.py'), opts.torchThreads ?? undefined);
  const info = await torch.start();
  peers['torch-cpu'] = `PyTorch ${info.torch} on the CPU, ${info.threads} threads, ${info.blas ?? 'unknown'} BLAS (bench/suite_torch.py)`;
  if (info.blas === 'reference BLAS') {
    log(`WARNING: PyTorch runs on the reference BLAS (${(info.blasLibraries ?? []).join(', ')}), far slower than what a PyTorch user has; run \`bash scripts/setup-bench.sh\` (installs libopenblas0-pthread) for an honest peer`);
  }
}
if (opts.tfjsWasm) {
  const w = await initTfjsWasm();
  peers['tfjs-wasm'] = `TensorFlow.js ${tf.version_core} WASM backend (SIMD ${w.simd ? 'on' : 'off'}, ${w.threads ? 'multithreaded' : 'one thread'})`;
}
let wasmBrowser: WasmBrowser | null = null;
const wasmPages: BrowserWasmPages = {};
if (opts.tfjsWasm2 || opts.wasmBrowser1t) {
  wasmBrowser = await WasmBrowser.launch();
  if (opts.tfjsWasm2) wasmPages['tfjs-wasm-2t'] = await wasmBrowser.open(2);
  if (opts.wasmBrowser1t) wasmPages['tfjs-wasm-browser-1t'] = await wasmBrowser.open(1);
  for (const [p, page] of Object.entries(wasmPages)) peers[p as Peer] = page.describe();
}
if (opts.tfjsWebgpu) {
  await initTfjsWebgpu(engine.device);
  peers['tfjs-webgpu'] = `TensorFlow.js ${tf.version_core} WebGPU backend on kdgpu's GPUDevice (same adapter)`;
}
for (const [p, d] of Object.entries(peers)) log(`  ${p}: ${d}`);

const ctx: CaseContext = { engine, opts, torch, wasmPages };
const harness = { reps: opts.reps, slow: new Set<Peer>(['tfjs-webgpu']), budgetMs: opts.tfBudgetS * 1000, probe: !opts.quick, log, settle: settler(opts.settleMs) };
const run = async (title: string, cases: SuiteCase[]): Promise<CaseResult[]> => {
  log(`${title}:`);
  const start = performance.now();
  const out: CaseResult[] = [];
  for (const c of cases) out.push(...(await measureCase(c, harness)));
  log(`  (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  return out;
};

const sections: SuiteResult['sections'] = {};
const has = (s: string) => opts.only.includes(s as never);
if (has('matmul')) {
  const { cases, ceiling } = await matmulCases(ctx);
  const measured = await run('matmul', cases);
  const fma = measured.find((c) => c.name === 'FMA ceiling')?.results.kdgpu;
  sections.matmul = { cases: measured, ceiling: { ...ceiling, gflops: fma && 'gflops' in fma ? fma.gflops : null } };
}
if (has('conv')) sections.conv = { cases: await run('conv layers', convCases(ctx)) };
if (has('steps')) {
  const cases = await run('training steps', stepCases(ctx));
  sections.steps = { cases, matmulBound: matmulBound(cases, MLP_GEMM_NAME, stepCaseName('mnist-mlp-student')) };
}
if (has('distill')) sections.distill = { cases: await run('distillation step', distillCases(ctx)) };
torch?.stop();
await wasmBrowser?.close();
if (has('memory')) {
  log(`memory: ${opts.memorySteps} distillation steps at batch ${opts.batch}…`);
  sections.memory = await measureMemory(engine, distillSpec(opts), opts.batch, opts.memorySteps, log);
}

const result: SuiteResult = {
  suite: 'kdgpu bench suite',
  date: new Date().toISOString(),
  command: `npx tsx bench/suite.ts ${argv.join(' ')}`.trimEnd(),
  adapter: a,
  adapterSlug: adapterSlug(a),
  node: process.version,
  cpuCores: cpus().length,
  loadAverage: { start: loadStart, end: loadavg() },
  options: opts,
  peers,
  sections,
  seconds: (performance.now() - t0) / 1000,
};
printTable(result, log);
if (opts.markdown) log(`\n${markdownTable(result)}`);

const file = resolve(opts.out ?? join(here, 'results', `${result.adapterSlug}.json`));
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
log(`\nwrote ${file}`);
if (opts.chart) log(`wrote ${(await writeSuiteChart(result, file.replace(/\.json$/, ''))).join(', ')}`);
log(`${result.seconds.toFixed(0)} s in all`);
process.exit(0);
