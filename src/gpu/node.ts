/**
 * Node-only: gets a GPUDevice from Dawn (the `webgpu` npm package). With no hardware adapter it
 * falls back by itself to Mesa's llvmpipe through Dawn's OpenGL ES backend (the faster CPU
 * adapter: `bench/adapters.ts`), then to SwiftShader's Vulkan driver (shipped with Debian's
 * Chromium).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdapterChoice, AdapterDescription } from './adapter.js';
import { ADAPTER_CHOICES, describeAdapter, NO_ADAPTER_HELP, requestDeviceWithLimits } from './adapter.js';
import type { ProfileOptions } from './profiler.js';
import { dumpWgslFromEnv } from './wgsl-dump.js';

/**
 * Usual locations of SwiftShader's Vulkan ICD file in Chromium packages, tried in order for the
 * fallback adapter (KDGPU_SWIFTSHADER_ICD overrides them).
 */
export const SWIFTSHADER_ICD_PATHS = [
  '/usr/lib/chromium/vk_swiftshader_icd.json',
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json',
];

function findSwiftShaderIcd(): string | undefined {
  const fromEnv = process.env.KDGPU_SWIFTSHADER_ICD;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new Error(
        `kdgpu: KDGPU_SWIFTSHADER_ICD is set to '${fromEnv}', which does not exist; point it at SwiftShader's vk_swiftshader_icd.json or unset it.\n${NO_ADAPTER_HELP}`,
      );
    }
    return fromEnv;
  }
  return SWIFTSHADER_ICD_PATHS.find((p) => existsSync(p));
}

/** Dawn's Vulkan backend wants a private XDG_RUNTIME_DIR; make one when it is missing. */
function ensureRuntimeDir(): void {
  const cur = process.env.XDG_RUNTIME_DIR;
  if (cur && existsSync(cur)) return;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  const dir = join(tmpdir(), `kdgpu-runtime-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  process.env.XDG_RUNTIME_DIR = dir;
}

/**
 * KDGPU_PROFILE=1: profile from init on, with `fit` printing a per-kernel table every epoch.
 * Unset, empty or 0: no profile.
 */
export function profileFromEnv(): ProfileOptions | undefined {
  const v = process.env.KDGPU_PROFILE;
  if (v === undefined || v === '' || v === '0') return undefined;
  if (v === '1') return { epochTables: true };
  throw new Error(`kdgpu: KDGPU_PROFILE is '${v}'; expected 1 (profile) or 0`);
}

/**
 * Dawn quantizes timestamps (to 2^16 ns) against timing attacks, which matter in browsers, not
 * here; unquantized ones let profiles time short kernels.
 */
const DEFAULT_DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

type DawnModule = {
  create: (flags: string[]) => GPU;
  globals: Record<string, unknown>;
};

let dawn: DawnModule | undefined;
async function loadDawn(): Promise<DawnModule> {
  if (!dawn) {
    dawn = (await import('webgpu')) as unknown as DawnModule;
    // WebGPU's global constructors/enums (GPUBufferUsage, …) for code that expects them.
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
  }
  return dawn;
}

// Dawn instances are never let go: one collected by the GC while another is in use has been
// seen to abort the process (std::system_error from a worker thread, or a pthread mutex
// assertion with the OpenGL ES backend).
const instances: GPU[] = [];
/** The SwiftShader ICD this module pointed the Vulkan loader at (not a choice of the user's). */
let icdWeSet: string | undefined;

async function tryAdapter(flags: string[]): Promise<GPUAdapter | null> {
  const d = await loadDawn();
  const gpu = d.create(flags);
  instances.push(gpu);
  return gpu.requestAdapter({ powerPreference: 'high-performance' });
}

/**
 * Whether libglvnd (Debian's and Ubuntu's EGL dispatcher) has an EGL vendor to load, such as
 * Mesa's 50_mesa.json (package libegl-mesa0). Where none of its folders exists the system may
 * have a plain libEGL, so the answer is yes and Dawn finds out.
 */
function eglVendorsPresent(): boolean {
  if (process.env.__EGL_VENDOR_LIBRARY_FILENAMES) return true;
  const fromEnv = process.env.__EGL_VENDOR_LIBRARY_DIRS;
  const dirs = fromEnv ? fromEnv.split(':') : ['/etc/glvnd/egl_vendor.d', '/usr/share/glvnd/egl_vendor.d'];
  const existing = dirs.filter((d) => existsSync(d));
  if (!fromEnv && existing.length === 0) return true;
  return existing.some((d) => readdirSync(d).some((f) => f.endsWith('.json')));
}

/**
 * An adapter from Dawn's OpenGL ES backend: Mesa's llvmpipe on a machine without a GPU (through
 * EGL with no display: EGL_PLATFORM=surfaceless unless set). Only in WebGPU's compatibility mode;
 * null when Mesa's EGL is missing.
 */
async function tryOpenGles(flags: string[]): Promise<GPUAdapter | null> {
  if (!eglVendorsPresent()) return null; // spares the user Dawn's EGL warnings when Mesa is absent
  if (!process.env.EGL_PLATFORM) process.env.EGL_PLATFORM = 'surfaceless';
  const d = await loadDawn();
  const gpu = d.create([...flags, 'backend=opengles']);
  instances.push(gpu);
  try {
    return await gpu.requestAdapter({ featureLevel: 'compatibility', powerPreference: 'high-performance' });
  } catch {
    return null;
  }
}

/** Options for `createNodeDevice`. */
export interface NodeDeviceOptions {
  /** 'auto' (hardware, else llvmpipe, else SwiftShader) or the one adapter to use. Env: KDGPU_ADAPTER. */
  adapter?: AdapterChoice;
  /** Dawn toggles/flags passed to `create()` (default: timestamp quantization off). */
  dawnFlags?: string[];
}

function label(a: AdapterDescription): string {
  return a.description || a.device || a.vendor || 'an unnamed adapter';
}

/**
 * A GPUDevice from Dawn with the adapter's own limits: a hardware adapter, else llvmpipe through
 * Dawn's OpenGL ES backend, else SwiftShader's Vulkan driver (unless the choice names one). The
 * description says which adapter it is and why it was taken. Throws with installation help when
 * none works.
 */
export async function createNodeDevice(
  opts: NodeDeviceOptions = {},
): Promise<{
  /** The device, with the adapter's limits and its timestamp-query/subgroups features when offered. */
  device: GPUDevice;
  /** The adapter the device was requested from. */
  adapter: GPUAdapter;
  /** What the adapter says about itself, its backend and why it was chosen. */
  description: AdapterDescription;
}> {
  const fromEnv = opts.adapter === undefined && process.env.KDGPU_ADAPTER !== undefined && process.env.KDGPU_ADAPTER !== '';
  const choice = (opts.adapter ?? (fromEnv ? process.env.KDGPU_ADAPTER : undefined) ?? 'auto') as string;
  if (!ADAPTER_CHOICES.includes(choice as AdapterChoice)) {
    throw new Error(
      `kdgpu: unknown adapter choice '${choice}' (${fromEnv ? 'from the KDGPU_ADAPTER environment variable' : 'options.adapter'}); expected ${ADAPTER_CHOICES.join(', ')}`,
    );
  }
  const how = choice === 'auto' ? 'auto' : `${fromEnv ? 'KDGPU_ADAPTER' : 'adapter'}=${choice}`;
  const flags = opts.dawnFlags ?? DEFAULT_DAWN_FLAGS;
  ensureRuntimeDir();
  const envIcd = process.env.VK_ICD_FILENAMES ?? process.env.VK_DRIVER_FILES;
  const userIcd = envIcd !== undefined && envIcd !== icdWeSet ? envIcd : undefined;
  const tried: string[] = [];
  let found: { adapter: GPUAdapter; description: AdapterDescription } | null = null;
  const take = (adapter: GPUAdapter, backend: string, why: string) => {
    found = { adapter, description: describeAdapter(adapter, backend, `${how}: ${why}`) };
  };

  // 1. Dawn's default (Vulkan): a GPU, or whatever the user pointed the Vulkan loader at.
  let vulkanSoftware: GPUAdapter | null = null;
  if (choice === 'auto' || choice === 'hardware') {
    const a = await tryAdapter(flags);
    const d = a ? describeAdapter(a) : null;
    if (a && d && !d.software) take(a, 'vulkan', 'a hardware adapter (Vulkan)');
    else if (a && d && userIcd && choice === 'auto') take(a, 'vulkan', `the Vulkan driver that VK_ICD_FILENAMES/VK_DRIVER_FILES name (${label(d)})`);
    else {
      if (a && d) vulkanSoftware = a;
      tried.push(a && d ? `Vulkan gave only a software adapter (${label(d)})` : 'no Vulkan adapter');
    }
  }
  // 2. Dawn's OpenGL ES backend: llvmpipe (or a GPU through EGL).
  if (!found && (choice === 'auto' || choice === 'llvmpipe' || choice === 'hardware')) {
    const a = await tryOpenGles(flags);
    const d = a ? describeAdapter(a) : null;
    if (a && d && (choice === 'auto' || d.kind === choice)) {
      take(a, 'opengles', `${tried.length ? `${tried.join('; ')}; ` : ''}${d.kind === 'llvmpipe' ? "llvmpipe through Dawn's OpenGL ES backend" : `${label(d)} through Dawn's OpenGL ES backend`}`);
    } else {
      tried.push(a && d ? `OpenGL ES gave ${label(d)}` : "no OpenGL ES adapter (Mesa's EGL: libegl-mesa0, libgl1-mesa-dri)");
    }
  }
  // 3. SwiftShader's Vulkan driver, unless the user pointed the Vulkan loader somewhere themselves.
  let triedIcd: string | undefined;
  if (!found && vulkanSoftware && choice === 'auto' && describeAdapter(vulkanSoftware).kind === 'swiftshader') {
    take(vulkanSoftware, 'vulkan', `${tried.join('; ')}; SwiftShader (Vulkan)`);
  }
  if (!found && (choice === 'auto' || choice === 'swiftshader') && (!userIcd || choice === 'swiftshader')) {
    const icd = findSwiftShaderIcd();
    if (icd) {
      triedIcd = icd;
      // The Vulkan loader reads these when Dawn creates its next instance.
      process.env.VK_ICD_FILENAMES = icd;
      process.env.VK_DRIVER_FILES = icd;
      icdWeSet = icd;
      const a = await tryAdapter(flags);
      if (a) take(a, 'vulkan', `${tried.length ? `${tried.join('; ')}; ` : ''}SwiftShader (${icd})`);
    }
  }
  if (!found) {
    const why =
      choice === 'hardware'
        ? `no hardware WebGPU adapter was found (${how}; ${tried.join('; ')}).`
        : choice === 'llvmpipe'
          ? `llvmpipe could not be opened through Dawn's OpenGL ES backend (${tried.join('; ')}; it needs Mesa's EGL and llvmpipe: libegl-mesa0 libgl1-mesa-dri).`
          : choice === 'swiftshader' && !findSwiftShaderIcd()
            ? `SwiftShader's Vulkan driver was not found (looked at ${SWIFTSHADER_ICD_PATHS.join(', ')}; set KDGPU_SWIFTSHADER_ICD to its .json).`
            : triedIcd
              ? `no WebGPU adapter could be created, not even with SwiftShader's Vulkan driver (${triedIcd}; is the Vulkan loader libvulkan1 installed, and the library the .json names?${tried.length ? `; before it: ${tried.join('; ')}` : ''}).`
              : `no WebGPU adapter could be created${tried.length ? ` (${tried.join('; ')})` : ''}.`;
    throw new Error(`kdgpu: ${why}\n${NO_ADAPTER_HELP}`);
  }
  const { adapter, description } = found as { adapter: GPUAdapter; description: AdapterDescription };
  const device = await requestDeviceWithLimits(adapter);
  dumpWgslFromEnv();
  return { device, adapter, description };
}
