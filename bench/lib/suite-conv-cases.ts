/**
 * The suite's conv section: every distinct conv layer of mnist-cnn-teacher and mnist-cnn-small,
 * each pass on its own (forward with bias + ReLU, input gradient, weight gradient with the bias
 * gradient), kdgpu beside tfjs and PyTorch; and, as each case's companion (measured in the same
 * alternation), kdgpu's matmul at the GEMM of the same M·N·K, so that the report can give each
 * pass's speed as a share of the matmul's on this adapter.
 */
import * as kd from '../../src/index.js';
import { convFlops, runConv2d, runConv2dGradBias, runConv2dGradInput, runConv2dGradWeight, type ConvGeometry } from '../../src/kernels/conv2d/index.js';
import type { PooledBuffer } from '../../src/gpu/buffer-pool.js';
import { kdMatmulKernel, matmulFlops } from './matmul-runners.js';
import type { CaseContext } from './suite-cases.js';
import type { Peer, RunnerFactory, SuiteCase } from './suite-harness.js';
import { browserWasmPeers, kdgpuPeer, tfjsPeer, torchPeer } from './suite-peers.js';
import type { ConvPass } from './tfjs-conv.js';
import { tfConvPassRunner } from './tfjs-conv-runner.js';
import { randArray } from './timing.js';

/** A 3×3, stride-1, unpadded conv layer: C → O channels on S×S inputs. */
export interface ConvLayer {
  name: string;
  C: number;
  O: number;
  S: number;
  note: string;
}

/** The distinct conv layers of the two CNNs (their conv1 is the same layer). */
export const CONV_LAYERS: ConvLayer[] = [
  { name: 'conv1', C: 1, O: 32, S: 28, note: 'conv1 of mnist-cnn-teacher and mnist-cnn-small: 1→32 on 28×28' },
  { name: 'teacher conv2', C: 32, O: 64, S: 25, note: 'conv2 of mnist-cnn-teacher: 32→64 on 25×25' },
  { name: 'small conv2', C: 32, O: 64, S: 13, note: 'conv2 of mnist-cnn-small: 32→64 on 13×13' },
];

/** The passes measured per layer. */
export const CONV_PASSES: ConvPass[] = ['fwd', 'dx', 'dw'];
const PASS_NOTE: Record<ConvPass, string> = { fwd: 'forward + bias + ReLU', dx: 'input gradient', dw: 'weight gradient + bias gradient' };

/** The geometry of a layer at batch B. */
export function layerGeometry(l: ConvLayer, B: number): kd.Conv2dPlan {
  return kd.planConv2d([B, l.C, l.S, l.S], [l.O, l.C, 3, 3], [l.O], {});
}

/**
 * The GEMM of the same M·N·K as a pass: forward M = B·OH·OW, N = O, K = C·KH·KW; input gradient
 * M = B·H·W, N = C, K = O·KH·KW; weight gradient M = O, N = C·KH·KW, K = B·OH·OW.
 */
export function passGemm(g: ConvGeometry, pass: ConvPass): { M: number; N: number; K: number } {
  const KK = g.KH * g.KW;
  if (pass === 'fwd') return { M: g.N * g.OH * g.OW, N: g.O, K: g.C * KK };
  if (pass === 'dx') return { M: g.N * g.H * g.W, N: g.C, K: g.O * KK };
  return { M: g.O, N: g.C * KK, K: g.N * g.OH * g.OW };
}

/** Largest operand of one piece of a companion GEMM: well inside the 128 MiB binding limit of CPU adapters. */
const PIECE_BYTES = 64 * 2 ** 20;

/** How kdGemmPieces splits M·N·K: along K (the longer of M and K) or M, into `pieces` of `part`. */
export function gemmPieces(M: number, N: number, K: number): { splitK: boolean; pieces: number; part: number } {
  const splitK = K > M;
  const long = splitK ? K : M;
  const pieces = Math.max(1, Math.ceil((long * (splitK ? Math.max(M, N) : K) * 4) / PIECE_BYTES));
  return { splitK, pieces, part: Math.ceil(long / pieces) };
}

/**
 * kdgpu's matmul at M·N·K, in as few pieces as keep every operand under PIECE_BYTES (the
 * im2col-sized operands of these GEMMs exceed what one buffer may bind): M split into row blocks
 * (with B shared), or, where K is the long side, K split into blocks whose [M, N] partial
 * products are left unsummed. All pieces are recorded, then one engine.sync().
 */
export function kdGemmPieces(engine: kd.Engine, M: number, N: number, K: number): { run(): Promise<void>; dispose(): void } {
  const { splitK, pieces, part } = gemmPieces(M, N, K);
  const long = splitK ? K : M;
  const ops: [kd.Tensor, kd.Tensor][] = [];
  let shared: kd.Tensor | null = null;
  for (let i = 0; i < pieces; i++) {
    const len = Math.min(part, long - i * part);
    if (splitK) ops.push([kd.tensor(randArray(M * len, 1 + i), [M, len]), kd.tensor(randArray(len * N, 100 + i), [len, N])]);
    else {
      shared ??= kd.tensor(randArray(K * N, 2), [K, N]);
      ops.push([kd.tensor(randArray(len * K, 1 + i), [len, K]), shared]);
    }
  }
  return {
    async run() {
      const outs = kd.noGrad(() => ops.map(([a, b]) => kd.matmul(a, b)));
      await engine.sync();
      for (const o of outs) o.dispose();
    },
    dispose() {
      for (const [a, b] of ops) {
        a.dispose();
        if (b !== shared) b.dispose();
      }
      shared?.dispose();
    },
  };
}

/** A conv case's name, e.g. `teacher conv2 dx`. */
export const convCaseName = (l: ConvLayer, pass: ConvPass) => `${l.name} ${pass}`;
/** How the GEMM companions' names begin. */
export const CONV_GEMM_PREFIX = 'conv gemm';

const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** A layer's random input, weight, bias and output gradient at batch B (the same seeds everywhere), and their buffers. */
export function layerTensors(l: ConvLayer, B: number): { g: kd.Conv2dPlan; tensors: kd.Tensor[]; xb: PooledBuffer; wb: PooledBuffer; bb: PooledBuffer; dyb: PooledBuffer } {
  const g = layerGeometry(l, B);
  const t = (shape: number[], seed: number, scale = 1) => kd.tensor(randArray(count(shape), seed, scale), shape);
  const tensors = [t([B, l.C, l.S, l.S], 1), t([l.O, l.C, 3, 3], 2, 1 / Math.sqrt(9 * l.C)), t([l.O], 3, 0.1), t([...g.outShape], 6)];
  const [xb, wb, bb, dyb] = tensors.map((v) => v.bufferFor('bench'));
  return { g, tensors, xb, wb, bb, dyb };
}

/** kdgpu: one pass through the conv kernels (the planner's choices), then engine.sync(). */
export function kdConvPass(engine: kd.Engine, l: ConvLayer, pass: ConvPass, B: number): { run(): Promise<void>; dispose(): void } {
  const { g, tensors, xb, wb, bb, dyb } = layerTensors(l, B);
  return {
    async run() {
      const outs: PooledBuffer[] = [];
      if (pass === 'fwd') outs.push(runConv2d(engine, xb, wb, g, { bias: bb, activation: 'relu' }));
      else if (pass === 'dx') outs.push(runConv2dGradInput(engine, dyb, wb, g));
      else outs.push(runConv2dGradWeight(engine, xb, dyb, g), runConv2dGradBias(engine, dyb, g));
      await engine.sync();
      for (const o of outs) engine.pool.release(o);
    },
    dispose() {
      for (const v of tensors) v.dispose();
    },
  };
}

/** Each layer × pass, each with its same-M·N·K GEMM as a kdgpu-only companion. */
export function convCases(ctx: CaseContext): SuiteCase[] {
  const { engine, opts } = ctx;
  const B = opts.batch;
  const PROBE = 2;
  const probeRatio = B > PROBE ? B / PROBE : undefined;
  const cases: SuiteCase[] = [];
  for (const l of CONV_LAYERS) {
    const g = layerGeometry(l, B);
    for (const pass of CONV_PASSES) {
      const name = convCaseName(l, pass);
      const { M, N, K } = passGemm(g, pass);
      const { splitK, pieces, part } = gemmPieces(M, N, K);
      const gemm: SuiteCase = {
        section: 'conv',
        name: `${CONV_GEMM_PREFIX} ${M}×${N}×${K} (${name})`,
        flops: matmulFlops(M, N, K),
        note: `kdgpu kernel: ${kdMatmulKernel(engine, splitK ? M : part, splitK ? part : K, N)}; the GEMM of ${name}'s M·N·K${pieces > 1 ? `, ${splitK ? 'K' : 'M'} split into ${pieces} pieces whose operands fit one buffer` : ''} (measured in alternation with it)`,
        peers: { kdgpu: kdgpuPeer(() => kdGemmPieces(engine, M, N, K)) },
      };
      const peers: Partial<Record<Peer, RunnerFactory>> = { kdgpu: kdgpuPeer(() => kdConvPass(engine, l, pass, B)) };
      const tfMake = (sync: () => Promise<void>, probe: boolean) => tfConvPassRunner(l, pass, probe && probeRatio ? PROBE : B, sync);
      if (opts.tfjsWebgpu) peers['tfjs-webgpu'] = tfjsPeer('webgpu', tfMake);
      if (opts.tfjsWasm) peers['tfjs-wasm'] = tfjsPeer('wasm', tfMake);
      // PyTorch and the tfjs-wasm browser pages take the same case description.
      const describe = (probe: boolean) => ({ kind: 'convpass', c: l.C, o: l.O, s: l.S, pass, batch: probe && probeRatio ? PROBE : B });
      if (ctx.torch) peers['torch-cpu'] = torchPeer(ctx.torch, () => describe(false));
      Object.assign(peers, browserWasmPeers(ctx.wasmPages, describe));
      Object.assign(peers, browserWasmPeers(ctx.wasmPages, () => ({ kind: 'convpass', c: l.C, o: l.O, s: l.S, pass, batch: B })));
      cases.push({
        section: 'conv',
        name,
        flops: convFlops(g),
        probeRatio,
        note: `batch ${B}; ${l.note}, 3×3; ${PASS_NOTE[pass]}; FLOPs: the GEMM's 2·M·N·K`,
        peers,
        companions: [gemm],
      });
    }
  }
  return cases;
}
