/**
 * The device bundle's bench: bench/suite.ts's matmul, conv, training-step and distillation cases
 * (bench/lib/suite-cases.ts) with kdgpu beside TensorFlow.js's WebGPU backend on kdgpu's own
 * GPUDevice (same adapter), and PyTorch on CUDA (bench/device/torch_cuda.py) through the
 * machine's python3 where it has torch and a GPU. `small`: sizes for a CPU adapter.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import * as kd from '../../src/index.js';
import { distillCases, distillSpec, matmulCases, MLP_GEMM_NAME, stepCaseName, stepCases, type CaseContext } from '../lib/suite-cases.js';
import { convCases } from '../lib/suite-conv-cases.js';
import { measureCase, type CaseResult, type Peer, type SuiteCase } from '../lib/suite-harness.js';
import { parseSuiteOptions } from '../lib/suite-options.js';
import { matmulBound, type SuiteResult } from '../lib/suite-report.js';
import { initTfjsWebgpu, tf } from '../lib/tfjs.js';
import { adapterSlug, settler } from '../lib/timing.js';
import { TorchServer } from '../lib/torch-server.js';

export interface BenchOptions {
  small: boolean;
  /** python3 to try for PyTorch CUDA; null: none. */
  python: string | null;
  /** bench/device/torch_cuda.py (in the bundle: beside the script). */
  torchScript: string;
  log: (line: string) => void;
}

export const FULL_SIZES = '256,512,1024,2048,4096';
export const SMALL_SIZES = '64,128';

/** The suite's options for the device bench (no WASM backend, no memory section, no chart). */
export function benchArgs(small: boolean): string[] {
  return small
    ? ['--quick', '--sizes', SMALL_SIZES, '--batch', '8', '--conv2-size', '9', '--reps', '2', '--only', 'matmul,conv,steps,distill', '--no-wasm', '--no-chart', '--tf-budget', '20']
    : ['--sizes', FULL_SIZES, '--batch', '256', '--reps', '5', '--only', 'matmul,conv,steps,distill', '--no-wasm', '--no-chart', '--tf-budget', '20', '--settle-ms', '20'];
}

/** Whether `python` imports torch (a quick look before the server starts). */
function torchNote(python: string): string | null {
  const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__, torch.cuda.is_available())'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return `${python} could not be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `${python} has no PyTorch (${(r.stderr || '').trim().split('\n').pop()})`;
  const [version, cuda] = r.stdout.trim().split(/\s+/);
  return cuda === 'True' || process.env.KDGPU_TORCH_DEVICE === 'cpu' ? null : `PyTorch ${version} sees no CUDA device`;
}

export async function runBench(engine: kd.Engine, o: BenchOptions): Promise<{ result: SuiteResult; notes: string[] }> {
  const t0 = performance.now();
  const loadStart = loadavg();
  const args = benchArgs(o.small);
  const opts = parseSuiteOptions([...args, ...(o.python ? [] : ['--no-torch'])]);
  const notes: string[] = [];
  const a = engine.adapter;
  const peers: Partial<Record<Peer, string>> = { kdgpu: `kdgpu on ${a.description || a.architecture} (Dawn, node package webgpu)` };

  let torch: TorchServer | null = null;
  if (o.python) {
    const why = torchNote(o.python);
    if (why) notes.push(`PyTorch CUDA skipped: ${why}.`);
    else {
      try {
        torch = new TorchServer(o.torchScript, undefined, o.python);
        const info = await torch.start();
        peers['torch-cuda'] = `PyTorch ${info.torch} on CUDA (${String(info.device)}), float32 without TF32 (bench/device/torch_cuda.py)`;
      } catch (e) {
        notes.push(`PyTorch CUDA skipped: ${(e as Error).message.split('\n')[0]}.`);
        torch = null;
      }
    }
  } else notes.push('PyTorch CUDA skipped: no python3 on this machine.');

  await initTfjsWebgpu(engine.device);
  peers['tfjs-webgpu'] = `TensorFlow.js ${tf.version_core} WebGPU backend on kdgpu's GPUDevice (same adapter)`;
  for (const [p, d] of Object.entries(peers)) o.log(`  ${p}: ${d}`);

  const ctx: CaseContext = { engine, opts: { ...opts, torch: torch !== null }, torch };
  // suite-cases names the PyTorch peer torch-cpu; here it runs on CUDA.
  const onCuda = (cases: SuiteCase[]): SuiteCase[] =>
    cases.map((c) => {
      const { 'torch-cpu': t, ...rest } = c.peers;
      return { ...c, peers: t ? { ...rest, 'torch-cuda': t } : rest, companions: c.companions ? onCuda(c.companions) : undefined };
    });
  const harness = { reps: opts.reps, slow: new Set<Peer>(['tfjs-webgpu']), budgetMs: opts.tfBudgetS * 1000, probe: !opts.quick, log: o.log, settle: settler(opts.settleMs) };
  const run = async (title: string, cases: SuiteCase[]): Promise<CaseResult[]> => {
    o.log(`${title}:`);
    const start = performance.now();
    const out: CaseResult[] = [];
    for (const c of onCuda(cases)) out.push(...(await measureCase(c, harness)));
    o.log(`  (${((performance.now() - start) / 1000).toFixed(1)} s)`);
    return out;
  };
  const sections: SuiteResult['sections'] = {};
  const { cases, ceiling } = await matmulCases(ctx);
  const measured = await run('matmul', cases);
  const fma = measured.find((c) => c.name === 'FMA ceiling')?.results.kdgpu;
  sections.matmul = { cases: measured, ceiling: { ...ceiling, gflops: fma && 'gflops' in fma ? fma.gflops : null } };
  sections.conv = { cases: await run('conv layers', convCases(ctx)) };
  const steps = await run('training steps', stepCases(ctx));
  sections.steps = { cases: steps, matmulBound: matmulBound(steps, MLP_GEMM_NAME, stepCaseName('mnist-mlp-student')) };
  sections.distill = { cases: await run('distillation step', distillCases(ctx)) };
  torch?.stop();

  const command = `run.sh${o.small ? ' --small' : ''} (bench/suite.ts ${args.join(' ')})`;
  const result: SuiteResult = {
    suite: 'kdgpu bench suite',
    date: new Date().toISOString(),
    command,
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
  return { result, notes };
}
