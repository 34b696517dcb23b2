/** Browser: gets a GPUDevice from navigator.gpu. Pulls in no Node module. */
import type { AdapterDescription } from './adapter.js';
import { describeAdapter, requestDeviceWithLimits } from './adapter.js';

/** A GPUDevice from navigator.gpu (high-performance adapter, its own limits); throws without WebGPU. */
export async function createBrowserDevice(): Promise<{
  /** The device, with the adapter's limits and its timestamp-query/subgroups features when offered. */
  device: GPUDevice;
  /** The adapter the device was requested from. */
  adapter: GPUAdapter;
  /** What the adapter says about itself. */
  description: AdapterDescription;
}> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (!nav || !nav.gpu) {
    throw new Error(
      'kdgpu: this browser has no WebGPU (navigator.gpu is missing). Use a recent Chrome, Edge or Safari, ' +
        'or enable WebGPU in the browser settings; the page must be served over https or from localhost.',
    );
  }
  const adapter = await nav.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    throw new Error('kdgpu: the browser has WebGPU but offered no adapter (blocklisted GPU or WebGPU disabled).');
  }
  const device = await requestDeviceWithLimits(adapter);
  return { device, adapter, description: describeAdapter(adapter, 'browser', 'navigator.gpu.requestAdapter()') };
}
