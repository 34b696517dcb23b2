/** What Node and browser device acquisition share: adapter description, limits, help text. */

export type AdapterChoice = 'auto' | 'hardware' | 'swiftshader';
export const ADAPTER_CHOICES: readonly AdapterChoice[] = ['auto', 'hardware', 'swiftshader'];

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
}

export const NO_ADAPTER_HELP = [
  'To run kdgpu without a GPU on Debian or Ubuntu, install the Vulkan loader and SwiftShader',
  '(which ships with Chromium):  sudo apt-get install -y libvulkan1 chromium',
  'With a GPU, install its Vulkan driver (mesa-vulkan-drivers, or the NVIDIA driver) and libvulkan1.',
  'KDGPU_ADAPTER=swiftshader|hardware forces one or the other.',
].join('\n');

export function describeAdapter(adapter: GPUAdapter): AdapterDescription {
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const vendor = info.vendor ?? '';
  const architecture = info.architecture ?? '';
  const description = info.description ?? '';
  const fallback = Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const software =
    fallback || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${vendor} ${architecture} ${description}`);
  return {
    vendor,
    architecture,
    device: info.device ?? '',
    description,
    software,
    features: [...adapter.features].map(String).sort(),
  };
}

/** Asks for the adapter's own limits (the defaults are far below what ML kernels need). */
export async function requestDeviceWithLimits(adapter: GPUAdapter): Promise<GPUDevice> {
  const want = [
    'maxBufferSize',
    'maxStorageBufferBindingSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxComputeWorkgroupsPerDimension',
    'maxDynamicUniformBuffersPerPipelineLayout',
  ] as const;
  const requiredLimits: Record<string, number> = {};
  for (const k of want) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  // Subgroup broadcasts let the CPU-adapter matmul share loads between invocations.
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups');
  return adapter.requestDevice({ requiredLimits, requiredFeatures });
}
