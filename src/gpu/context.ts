/**
 * The current engine. Ops are synchronous (they only record GPU work), so the device must exist
 * before the first op: `await init()` once, in Node or in a browser.
 */
import { ADAPTER_CHOICES, type AdapterChoice, type AdapterDescription } from './adapter.js';
import { Engine } from './engine.js';
import type { ProfileOptions } from './profiler.js';

/** Options for `init`. */
export interface InitOptions {
  /** Node only: 'auto' (default: hardware, else llvmpipe, else SwiftShader), 'hardware', 'llvmpipe' or 'swiftshader'. Env: KDGPU_ADAPTER. */
  adapter?: AdapterChoice;
  /** Use this device instead of creating one. */
  device?: GPUDevice;
  /**
   * Start a profile right away (engine.startProfile); `true` is `{ epochTables: true }`, so that
   * `fit` prints per-kernel tables. Node: KDGPU_PROFILE=1 does the same.
   */
  profile?: boolean | ProfileOptions;
}

/** Node's factory also passes on KDGPU_PROFILE (read there, as browsers have no environment). */
type DeviceFactory = (opts: InitOptions) => Promise<{ device: GPUDevice; description: AdapterDescription; profile?: ProfileOptions }>;

let factory: DeviceFactory | null = null;
let current: Engine | null = null;
let pending: Promise<Engine> | null = null;

/** Set by the Node and browser entry points. */
export function setDeviceFactory(f: DeviceFactory): void {
  factory = f;
}

/**
 * Creates the GPU engine (once; later calls return the same one) from the entry point's device
 * factory or from `opts.device`. Await it before making tensors.
 */
export async function init(opts: InitOptions = {}): Promise<Engine> {
  if (opts.adapter !== undefined && !ADAPTER_CHOICES.includes(opts.adapter)) {
    throw new Error(`kdgpu: init: unknown adapter choice '${String(opts.adapter)}'; expected ${ADAPTER_CHOICES.join(', ')}`);
  }
  if (current) return current;
  if (pending) return pending;
  pending = (async () => {
    let device: GPUDevice;
    let description: AdapterDescription;
    let profile: boolean | ProfileOptions | undefined = opts.profile;
    if (opts.device) {
      device = opts.device;
      description = { vendor: '', architecture: '', device: '', description: 'user device', software: false, features: [...device.features].map(String).sort(), kind: 'unknown', backend: '', reason: 'the device passed to init()' };
    } else {
      if (!factory) throw new Error('kdgpu: no device factory; import kdgpu from its Node or browser entry point');
      const made = await factory(opts);
      ({ device, description } = made);
      profile ??= made.profile;
    }
    const e = new Engine(device, description);
    if (profile) {
      try {
        e.startProfile(profile === true ? { epochTables: true } : profile);
      } catch (err) {
        if (!opts.device) device.destroy(); // ours, and no engine will own it
        throw err;
      }
    }
    current = e;
    return current;
  })();
  try {
    return await pending;
  } finally {
    pending = null;
  }
}

/** The current engine; throws if `init()` has not completed. */
export function engine(): Engine {
  if (!current) throw new Error('kdgpu: no GPU engine yet; call `await init()` before creating tensors');
  return current;
}

/** Whether `init()` has completed (and `shutdown()` has not been called since). */
export function hasEngine(): boolean {
  return current !== null;
}

/** Destroys the device; a later init() creates a new one. */
export function shutdown(): void {
  if (current) current.destroy();
  current = null;
}
