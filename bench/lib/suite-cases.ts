/**
 * The suite's cases, section by section, each with a runner factory per enabled framework.
 * tfjs-webgpu cases carry a probe (a smaller size and the work ratio) so that the harness can
 * skip the ones that would not fit its time budget.
 */
import * as kd from '../../src/index.js';
import { calibrate, makeCeiling, type CeilingShape } from '../fma-ceiling.js';
import { kdMatmul, kdMatmulKernel, matmulFlops, tfMatmul } from './matmul-runners.js';
import { forwardFlops, kdDistillStep, kdLoaderStep, kdTrainStep, trainStepFlops, type DistillSpec } from './steps-kdgpu.js';
import { tfDistillStep, tfTrainStep } from './steps-tfjs.js';
import type { Peer, RunnerFactory, Section, SuiteCase } from './suite-harness.js';
import type { SuiteOptions } from './suite-options.js';
import { browserWasmPeers, kdgpuPeer, tfjsPeer, torchPeer, type BrowserWasmPages } from './suite-peers.js';
import type { TorchServer } from './torch-server.js';

export interface CaseContext {
  engine: kd.Engine;
  opts: SuiteOptions;
  torch: TorchServer | null;
  /** The tfjs-wasm pages in headless Chromium (2 threads; the one-thread build), where they run. */
  wasmPages?: BrowserWasmPages;
}

type Plain = { run(): Promise<unknown>; dispose(): void };

interface PeerMakers {
  kdgpu: () => Plain;
  /** Both tfjs backends; `probe`: the reduced size. */
  tfjs?: (sync: () => Promise<void>, probe: boolean) => Plain;
  torch?: (probe: boolean) => object;
}

function peers(ctx: CaseContext, m: PeerMakers): Partial<Record<Peer, RunnerFactory>> {
  const out: Partial<Record<Peer, RunnerFactory>> = { kdgpu: kdgpuPeer(m.kdgpu) };
  if (m.tfjs && ctx.opts.tfjsWebgpu) out['tfjs-webgpu'] = tfjsPeer('webgpu', m.tfjs);
  if (m.tfjs && ctx.opts.tfjsWasm) out['tfjs-wasm'] = tfjsPeer('wasm', m.tfjs);
  if (m.torch && ctx.torch) out['torch-cpu'] = torchPeer(ctx.torch, m.torch);
  if (m.tfjs && m.torch) Object.assign(out, browserWasmPeers(ctx.wasmPages, m.torch));
  return out;
}

export interface CeilingInfo {
  shape: CeilingShape;
  calibration: { shape: CeilingShape; gflops: number }[];
}

/** Square matmuls, then the adapter's vec4 FMA ceiling (bench/fma-ceiling.ts). */
export async function matmulCases(ctx: CaseContext): Promise<{ cases: SuiteCase[]; ceiling: CeilingInfo }> {
  const { engine, opts } = ctx;
  const section: Section = 'matmul';
  const cases: SuiteCase[] = opts.sizes.map((S) => {
    // tfjs-webgpu's probe: a quarter of the size (1/64 of the work) for sizes above 256.
    const probed = S > 256;
    const PROBE = Math.round(S / 4);
    return {
      section,
      name: `matmul ${S}`,
      flops: matmulFlops(S, S, S),
      probeRatio: probed ? (S / PROBE) ** 3 : undefined,
      note: `kdgpu kernel: ${kdMatmulKernel(engine, S, S, S)}`,
      peers: peers(ctx, {
        kdgpu: () => kdMatmul(engine, S, S, S),
        tfjs: (sync, probe) => (probe && probed ? tfMatmul(PROBE, PROBE, PROBE, sync) : tfMatmul(S, S, S, sync)),
        torch: () => ({ kind: 'matmul', m: S, k: S, n: S }),
      }),
    };
  });
  const cal = await calibrate(engine, opts.quick ? 1 : 3);
  const flops = opts.quick ? 2e8 : 2e9;
  const sizing = makeCeiling(engine, cal.best, flops);
  cases.push({
    section,
    name: 'FMA ceiling',
    flops: sizing.flops,
    note: `vec4 FMA chains in registers: ${cal.best.chains} chains × ${cal.best.unroll} FMA/iteration (best of ${cal.results.length} shapes)`,
    peers: {
      kdgpu: kdgpuPeer(() => {
        const c = makeCeiling(engine, cal.best, flops);
        return { run: async () => (c.run(), await engine.sync()), dispose: () => c.dispose() };
      }),
    },
  });
  sizing.dispose();
  return { cases, ceiling: { shape: cal.best, calibration: cal.results } };
}

function flopsOf(name: string, f: (m: kd.nn.Module) => number): number {
  const m = kd.nn.buildModel(name, { seed: 0 });
  try {
    return f(m);
  } finally {
    m.dispose();
  }
}

/**
 * tfjs-webgpu's probe batch for a step: an eighth of the batch (at least 8). A step's fixed costs
 * (the optimizer, small kernels) make the linear estimate from a smaller batch pessimistic, more
 * so the smaller the probe.
 */
const probeBatch = (B: number) => Math.max(8, Math.round(B / 8));

export const MLP_GEMM_NAME = 'mlp gemm';
export const stepCaseName = (model: string) => `train step ${model}`;

/**
 * Training steps of mnist-mlp-student and mnist-cnn-small; the MLP's largest GEMM (kdgpu only) is
 * the MLP step's companion, i.e. measured in the same alternation, for the matmul-speed bound.
 */
export function stepCases(ctx: CaseContext): SuiteCase[] {
  const { engine, opts } = ctx;
  const B = opts.batch;
  const PROBE = probeBatch(B);
  const probeRatio = B > PROBE ? B / PROBE : undefined;
  // mnist-mlp-student's GEMMs are all B×784×784 (forward, input and weight gradients) but the last layer's.
  const gemm: SuiteCase = {
    section: 'steps',
    name: `${MLP_GEMM_NAME} ${B}×784×784`,
    flops: matmulFlops(B, 784, 784),
    note: `kdgpu kernel: ${kdMatmulKernel(engine, B, 784, 784)}; the largest GEMM of the MLP step, for its matmul-speed bound (measured in alternation with the step)`,
    peers: { kdgpu: kdgpuPeer(() => kdMatmul(engine, B, 784, 784)) },
  };
  const steps = ['mnist-mlp-student', 'mnist-cnn-small', 'mnist-cnn-teacher'].map(
    (model): SuiteCase => ({
      section: 'steps',
      name: stepCaseName(model),
      flops: flopsOf(model, (m) => trainStepFlops(m, B)),
      probeRatio,
      note: `batch ${B}; forward, softmax cross-entropy, backward, Adam 1e-3; FLOPs: GEMMs only`,
      peers: peers(ctx, {
        kdgpu: () => kdTrainStep(engine, model, B),
        tfjs: (sync, probe) => tfTrainStep(model, probe && probeRatio ? PROBE : B, sync),
        torch: (probe) => ({ kind: 'step', model, batch: probe && probeRatio ? PROBE : B }),
      }),
    }),
  );
  steps[0].companions = [gemm];
  return steps;
}

export function distillSpec(opts: SuiteOptions): DistillSpec {
  return { teacher: opts.teacher, student: opts.student, temperature: opts.temperature, alpha: opts.alpha };
}

export const cachedDistillName = (student: string) => `distill step (cached logits) → ${student}`;
export const loaderStepName = (student: string) => `train step ${student} (loader)`;

/**
 * A distillation step with the teacher's logits cached, as kd.distill runs it, and — measured in
 * the same alternation, as its companion — the scratch step of the same student from the same
 * kind of loader: their ratio is what distillation costs per step over training from scratch.
 */
function cachedDistillCase(ctx: CaseContext, student: string): SuiteCase {
  const { engine, opts } = ctx;
  const B = opts.batch;
  const flops = flopsOf(student, (m) => trainStepFlops(m, B));
  const kd = { teacher: opts.teacher, temperature: opts.temperature, alpha: opts.alpha };
  return {
    section: 'distill',
    name: cachedDistillName(student),
    flops,
    note: `batch ${B}; ${opts.teacher}'s logits cached for the loader's set (kd.TeacherCache), gathered per batch; T=${opts.temperature}, alpha=${opts.alpha}; kdgpu only`,
    peers: { kdgpu: async () => kdLoaderStep(engine, student, B, kd) },
    companions: [
      {
        section: 'distill',
        name: loaderStepName(student),
        flops,
        note: `batch ${B}; the scratch step from the same loader (cross-entropy only), alternating with the cached distillation step`,
        peers: { kdgpu: async () => kdLoaderStep(engine, student, B, null) },
      },
    ],
  };
}

/** A distillation step: frozen teacher forward (no tape) + the student's step on kdLoss. */
export function distillCases(ctx: CaseContext): SuiteCase[] {
  const { engine, opts } = ctx;
  const B = opts.batch;
  const PROBE = probeBatch(B);
  const probeRatio = B > PROBE ? B / PROBE : undefined;
  const spec = distillSpec(opts);
  const batchOf = (probe: boolean) => (probe && probeRatio ? PROBE : B);
  return [
    {
      section: 'distill',
      name: `distill step ${spec.teacher} → ${spec.student}`,
      flops: flopsOf(spec.teacher, (m) => forwardFlops(m, B)) + flopsOf(spec.student, (m) => trainStepFlops(m, B)),
      probeRatio,
      note: `batch ${B}; T=${spec.temperature}, alpha=${spec.alpha} (alpha weighs the KD term); teacher in eval mode without gradient`,
      peers: peers(ctx, {
        kdgpu: () => kdDistillStep(engine, spec, B),
        tfjs: (sync, probe) => tfDistillStep(spec, batchOf(probe), sync),
        torch: (probe) => ({ kind: 'distill', teacher: spec.teacher, student: spec.student, batch: batchOf(probe), T: spec.temperature, alpha: spec.alpha }),
      }),
    },
    ...[spec.student, 'mnist-cnn-small'].map((s) => cachedDistillCase(ctx, s)),
  ];
}
