/**
 * What the tfjs-wasm browser page (wasm-peer-page.ts) exposes as `window.wasmPeer`, shared with
 * its Node driver (bench/lib/wasm-browser.ts).
 */
import type { MirrorLayer } from '../lib/tfjs-models.js';

/**
 * A suite case as bench/suite_torch.py takes it (the `torch` maker's object in suite-cases.ts);
 * the Node side adds the models' layers to steps (the page has no kdgpu engine to build them).
 */
export type CaseDescription =
  | { kind: 'matmul'; m: number; k: number; n: number }
  | { kind: 'conv'; row: string; mode: string; batch: number; conv2_size: number }
  | { kind: 'convpass'; c: number; o: number; s: number; pass: string; batch: number }
  | { kind: 'step'; model: string; batch: number; layers?: MirrorLayer[] }
  | { kind: 'distill'; teacher: string; student: string; batch: number; T: number; alpha: number; teacherLayers?: MirrorLayer[]; studentLayers?: MirrorLayer[] };

/** The page's backend, as it initialized. */
export interface PageInfo {
  tfjs: string;
  crossOriginIsolated: boolean;
  simd: boolean;
  multithread: boolean;
  /** XNNPACK's thread count as the backend reports it. */
  threads: number;
  /** navigator.hardwareConcurrency before the page raised it for the backend's thread cap. */
  hardwareConcurrency: number;
  userAgent: string;
}

/** The page's calls; `run` returns the run's wall-clock milliseconds, timed in the page. */
export interface WasmPeerApi {
  ready: Promise<PageInfo>;
  setup(id: string, d: CaseDescription): Promise<void>;
  run(id: string): Promise<number>;
  drop(id: string): Promise<void>;
}
