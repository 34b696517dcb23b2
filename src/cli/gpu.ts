/** Starts the GPU for commands that need it, honouring the global --adapter option. */
import type { Command } from 'commander';
import { init, type AdapterChoice, type Engine } from '../index.js';

export async function initGpu(cmd: Command): Promise<Engine> {
  const adapter = cmd.optsWithGlobals().adapter as AdapterChoice | undefined;
  return init(adapter ? { adapter } : {});
}
