/** What Node and browser device acquisition share: adapter description, limits, help text. */

/**
 * Which adapter Node's `init()` takes: 'auto' (a hardware adapter, else llvmpipe, else
 * SwiftShader), or only the one named. Env: KDGPU_ADAPTER.
 */
export type AdapterChoice = 'auto' | 'hardware' | 'llvmpipe' | 'swiftshader';
/** Every AdapterChoice, in the order 'auto' tries them. */
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['auto', 'hardware', 'llvmpipe', 'swiftshader'];

/**
 * What kind of implementation an adapter is: a GPU ('hardware'), Mesa's llvmpipe (through Dawn's
 * OpenGL ES backend), SwiftShader (Vulkan), another CPU implementation ('software'), or a device
 * the user passed in ('unknown').
 */
export type AdapterKind = 'hardware' | 'llvmpipe' | 'swiftshader' | 'software' | 'unknown';

/** The GPU adapter an engine runs on, from GPUAdapterInfo (empty strings where it says nothing). */
export interface AdapterDescription {
  /** Vendor name, e.g. 'nvidia' or 'google'. */
  vendor: string;
  /** Architecture name, e.g. 'turing' or 'swiftshader'. */
  architecture: string;
  /** Device name or identifier. */
  device: string;
  /** Human-readable description from the driver. */
  description: string;
  /** True for CPU implementations such as SwiftShader. */
  software: boolean;
  /** The adapter's WebGPU features, sorted. */
  features: string[];
  /** What kind of implementation it is. */
  kind: AdapterKind;
  /** Dawn's backend in Node ('vulkan', 'opengles'), 'browser' in a page, '' for a user device. */
  backend: string;
  /** Why this adapter was taken (the choice, and what was tried before it). */
  reason: string;
}

/** Installation help appended to every "no adapter" error. */
export const NO_ADAPTER_HELP = [
  'To run kdgpu without a GPU on Debian or Ubuntu, install Mesa\'s EGL and llvmpipe (the faster',
  'CPU adapter) and/or the Vulkan loader and SwiftShader (which ships with Chromium):',
  '  sudo apt-get install -y libegl-mesa0 libgl1-mesa-dri libvulkan1 chromium',
  'With a GPU, install its Vulkan driver (mesa-vulkan-drivers, or the NVIDIA driver) and libvulkan1.',
  'KDGPU_ADAPTER=hardware|llvmpipe|swiftshader forces one of them.',
].join('\n');

/** The kind of adapter an adapter's own description names. */
export function adapterKind(text: string, fallback: boolean): AdapterKind {
  if (/llvmpipe/i.test(text)) return 'llvmpipe';
  if (/swiftshader/i.test(text)) return 'swiftshader';
  if (fallback || /lavapipe|warp|software/i.test(text)) return 'software';
  return 'hardware';
}

/** Describes an adapter from its GPUAdapterInfo; `backend` and `reason` are the caller's to say. */
export function describeAdapter(adapter: GPUAdapter, backend = '', reason = ''): AdapterDescription {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description ?? '';
  const fallback = Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const device = info.device ?? '';
  const kind = adapterKind(`${vendor} ${architecture} ${device} ${description}`, fallback);
  return {
    vendor,
    architecture,
    device,
    description,
    software: kind !== 'hardware',
    features: [...adapter.features].map(String).sort(),
    kind,
    backend,
    reason,
  };
}

/** The limits that matter to ML kernels: requested at the adapter's own values, and shown by `kdgpu info`. */
export const KEY_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

/** Asks for the adapter's own limits (the defaults are far below what ML kernels need). */
export async function requestDeviceWithLimits(adapter: GPUAdapter): Promise<GPUDevice> {
  const requiredLimits: Record<string, number> = {};
  for (const k of KEY_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // Subgroup broadcasts let the CPU-adapter matmul share loads between invocations.
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups');
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}
