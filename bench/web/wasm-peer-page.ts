/**
 * The browser side of the tfjs-wasm peers that run in headless Chromium (bench/lib/wasm-browser.ts):
 * TensorFlow.js's WASM backend with the thread count in the page's query (?threads=N; 1: the
 * one-thread SIMD build, more: the threaded SIMD build, which needs a cross-origin isolated page),
 * running the same tfjs runners as the suite's Node peer from case descriptions — the ones
 * bench/suite_torch.py takes — and timing each run here, where WASM kernels run synchronously.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { tfRowRunner, type Mode, type RowName } from '../lib/cnn-rows.js';
import { tfMatmul } from '../lib/matmul-runners.js';
import { tfDistillStepOf, tfTrainStepOf } from '../lib/steps-tfjs.js';
import type { ConvPass } from '../lib/tfjs-conv.js';
import { tfConvPassRunner } from '../lib/tfjs-conv-runner.js';
import { tf } from '../lib/tfjs.js';
import type { CaseDescription, PageInfo, WasmPeerApi } from './wasm-peer-api.js';

type Plain = { run(): Promise<unknown>; dispose(): void };

const noSync = async () => {};

function need<T>(layers: T | undefined, model: string): T {
  if (!layers) throw new Error(`no layers for ${model}: the Node side sends them (bench/lib/wasm-browser.ts)`);
  return layers;
}

function runnerOf(d: CaseDescription): Plain {
  switch (d.kind) {
    case 'matmul':
      return tfMatmul(d.m, d.k, d.n, noSync);
    case 'conv': {
      const r = tfRowRunner(d.row as RowName, d.batch, d.conv2_size, noSync);
      return { run: () => r.run(d.mode as Mode), dispose: () => r.dispose() };
    }
    case 'convpass':
      return tfConvPassRunner({ C: d.c, O: d.o, S: d.s }, d.pass as ConvPass, d.batch, noSync);
    case 'step':
      return tfTrainStepOf(need(d.layers, d.model), d.batch, noSync);
    case 'distill':
      return tfDistillStepOf(need(d.teacherLayers, d.teacher), need(d.studentLayers, d.student), { temperature: d.T, alpha: d.alpha }, d.batch, noSync);
    default:
      throw new Error(`unknown case kind ${(d as { kind: string }).kind}`);
  }
}

async function init(threads: number): Promise<PageInfo> {
  setWasmPaths('/wasm/');
  // One thread: the plain SIMD build (what Node runs); more: the threaded SIMD build.
  const hardwareConcurrency = navigator.hardwareConcurrency;
  if (threads === 1) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  else {
    // The backend caps its pool at hardwareConcurrency / 2 (it assumes two hyperthreads per core),
    // read once when the module starts: a 2-CPU machine would get one thread whatever we ask.
    Object.defineProperty(navigator, 'hardwareConcurrency', { value: Math.max(hardwareConcurrency, 2 * threads), configurable: true });
    setThreadsCount(threads);
  }
  if (!(await tf.setBackend('wasm'))) throw new Error('the WASM backend failed to initialize');
  await tf.ready();
  const info: PageInfo = {
    tfjs: tf.version_core,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') as boolean,
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') as boolean,
    threads: getThreadsCount(),
    hardwareConcurrency,
    userAgent: navigator.userAgent,
  };
  if (threads > 1 && !(info.crossOriginIsolated && info.multithread && info.threads === threads)) {
    throw new Error(`asked for ${threads} threads, got: cross-origin isolated ${info.crossOriginIsolated}, multithread support ${info.multithread}, ${info.threads} threads`);
  }
  return info;
}

const cases = new Map<string, Plain>();
// Chromium runs with --js-flags=--expose-gc: a collection before each timed run, as the Node peers get.
const gc = (globalThis as { gc?: () => void }).gc;

const api: WasmPeerApi = {
  ready: init(Number(new URLSearchParams(location.search).get('threads') ?? '1')),
  async setup(id, d) {
    cases.set(id, runnerOf(d));
  },
  async run(id) {
    const r = cases.get(id);
    if (!r) throw new Error(`no case ${id}`);
    gc?.();
    const t0 = performance.now();
    await r.run();
    return performance.now() - t0;
  },
  async drop(id) {
    cases.get(id)?.dispose();
    cases.delete(id);
  },
};
(globalThis as { wasmPeer?: WasmPeerApi }).wasmPeer = api;
