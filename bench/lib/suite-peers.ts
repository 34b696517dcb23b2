/**
 * Runner factories per framework for the suite's cases: tfjs runners select their backend before
 * every call (both backends share tfjs-core's engine); PyTorch runners are cases set up in
 * bench/suite_torch.py, which times each run itself.
 */
import type { Runner, RunnerFactory } from './suite-harness.js';
import { syncFor, useBackend, type TfBackendName } from './tfjs.js';
import type { TorchServer } from './torch-server.js';

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
