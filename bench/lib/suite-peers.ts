/**
 * Runner factories per framework for the suite's cases: tfjs runners select their backend before
 * every call (both backends share tfjs-core's engine); PyTorch runners are cases set up in
 * bench/suite_torch.py, which times each run itself; the tfjs-wasm peers in headless Chromium
 * (bench/lib/wasm-browser.ts) get the same case descriptions as PyTorch and time themselves too.
 */
import type { CaseDescription } from '../web/wasm-peer-api.js';
import type { Peer, Runner, RunnerFactory } from './suite-harness.js';
import { syncFor, useBackend, type TfBackendName } from './tfjs.js';
import type { TorchServer } from './torch-server.js';
import type { WasmPage } from './wasm-browser.js';

interface Plain {
  run(): Promise<unknown>;
  dispose(): void;
}

/** A kdgpu runner (it waits for its own work). */
export function kdgpuPeer(make: (probe: boolean) => Plain): RunnerFactory {
  return async (probe) => {
    const r = make(probe);
    return { run: async () => void (await r.run()), dispose: () => r.dispose() };
  };
}

/** A tfjs runner on `backend`; `make` gets the backend's wait-for-completion function. */
export function tfjsPeer(backend: TfBackendName, make: (sync: () => Promise<void>, probe: boolean) => Plain): RunnerFactory {
  return async (probe) => {
    await useBackend(backend);
    const r = make(syncFor(backend), probe);
    return {
      run: async () => {
        await useBackend(backend);
        await r.run();
      },
      dispose: async () => {
        await useBackend(backend);
        r.dispose();
      },
    };
  };
}

let nextId = 0;

/** A PyTorch case: `setup(probe)` is the setup message (see bench/suite_torch.py). */
export function torchPeer(server: TorchServer, setup: (probe: boolean) => object): RunnerFactory {
  return async (probe): Promise<Runner> => {
    const id = `case${nextId++}`;
    await server.send({ cmd: 'setup', id, ...setup(probe) });
    return {
      run: async () => {
        const r = await server.send({ cmd: 'run', id });
        return { wallMs: r.wall_ms!, cpuMs: r.cpu_ms! };
      },
      dispose: async () => {
        await server.send({ cmd: 'drop', id });
      },
    };
  };
}

/** The suite's tfjs-wasm peers that run in headless Chromium. */
export const BROWSER_WASM_PEERS = ['tfjs-wasm-2t', 'tfjs-wasm-browser-1t'] as const satisfies readonly Peer[];
export type BrowserWasmPeer = (typeof BROWSER_WASM_PEERS)[number];

/** Their pages (the ones that run), by peer. */
export type BrowserWasmPages = Partial<Record<BrowserWasmPeer, WasmPage>>;

/** A case on a tfjs-wasm browser page: `describe(probe)` is the case as bench/suite_torch.py takes it. */
export function browserWasmPeer(page: WasmPage, describe: (probe: boolean) => object): RunnerFactory {
  return async (probe): Promise<Runner> => {
    const id = `case${nextId++}`;
    await page.setup(id, describe(probe) as CaseDescription);
    return { run: () => page.run(id), dispose: () => page.drop(id) };
  };
}

/** The case on every browser page that runs: merge into a case's peers (one line per case). */
export function browserWasmPeers(pages: BrowserWasmPages | undefined, describe: (probe: boolean) => object): Partial<Record<Peer, RunnerFactory>> {
  const out: Partial<Record<Peer, RunnerFactory>> = {};
  for (const p of BROWSER_WASM_PEERS) {
    const page = pages?.[p];
    if (page) out[p] = browserWasmPeer(page, describe);
  }
  return out;
}
