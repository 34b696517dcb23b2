/**
 * TensorFlow.js backends for the benchmarks: the WebGPU backend on kdgpu's own GPUDevice (same
 * adapter, same device), and the WASM backend (SIMD; one thread in Node). Both share tfjs-core's
 * global engine, so a runner selects its backend (`useBackend`) before creating or running anything.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export type TfBackendName = 'webgpu' | 'wasm';

let webgpu: { backend: WebGPUBackend; device: GPUDevice } | null = null;
let gradientsRegistered = false;

/** Gradients live in tfjs-core's ESM side-effect module (the full @tensorflow/tfjs package imports it). */
function registerGradients(): void {
  if (gradientsRegistered) return;
  createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  gradientsRegistered = true;
}

/** Registers and selects the WebGPU backend on `device`. */
export async function initTfjsWebgpu(device: GPUDevice): Promise<void> {
  registerGradients();
  // The backend only checks that navigator.gpu exists; it then uses the device it is given.
  const g = globalThis as unknown as { navigator?: { gpu?: unknown } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  if (!g.navigator!.gpu) g.navigator!.gpu = {};
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  const backend = new WebGPUBackend(device);
  webgpu = { backend, device };
  tf.registerBackend('webgpu', () => backend);
  await tf.setBackend('webgpu');
  await tf.ready();
}

/** Registers (by importing the package) and selects the WASM backend. */
export async function initTfjsWasm(): Promise<{ simd: boolean; threads: boolean }> {
  registerGradients();
  const before = { exception: process.listeners('uncaughtException'), rejection: process.listeners('unhandledRejection') };
  await import('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the WASM backend failed to initialize');
  await tf.ready();
  // The Emscripten module rethrows every uncaught error from its own handlers, which prints its
  // whole minified source; Node's default handling is kept instead.
  for (const l of process.listeners('uncaughtException')) if (!before.exception.includes(l)) process.removeListener('uncaughtException', l);
  for (const l of process.listeners('unhandledRejection')) if (!before.rejection.includes(l)) process.removeListener('unhandledRejection', l);
  return { simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') };
}

export async function useBackend(name: TfBackendName): Promise<void> {
  if (tf.getBackend() !== name && !(await tf.setBackend(name))) throw new Error(`tfjs: backend ${name} is not available`);
}

/** Waits until the WebGPU backend's recorded work has finished on the device. */
export async function tfWebgpuSync(): Promise<void> {
  if (!webgpu) throw new Error('tfjs: initTfjsWebgpu was not called');
  const b = webgpu.backend as unknown as { endComputePassEncoder(): void; commandEncoder: unknown; submitQueue(): void };
  b.endComputePassEncoder();
  if (b.commandEncoder) b.submitQueue();
  await webgpu.device.queue.onSubmittedWorkDone();
}

/** The backend's "wait for completion": WebGPU submits and waits; WASM kernels run synchronously. */
export function syncFor(name: TfBackendName): () => Promise<void> {
  return name === 'webgpu' ? tfWebgpuSync : async () => {};
}

export { tf };
