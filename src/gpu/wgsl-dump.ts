/**
 * KDGPU_DUMP_WGSL=<dir> (Node): every pipeline the engine compiles writes its WGSL to
 * `<dir>/<kernel name>--<hash>.wgsl`, so generated kernels can be read, and diffed across a
 * refactor, without running a debugger. The hash (of entry point and source) keeps kernels that
 * share a name apart and lets several processes write into one folder.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setCompileListener } from './engine.js';

/** Installs the dumper when KDGPU_DUMP_WGSL names a folder (idempotent). */
export function dumpWgslFromEnv(): void {
  const dir = process.env.KDGPU_DUMP_WGSL;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  setCompileListener((name, entry, source) => {
    const hash = createHash('sha1').update(`${entry}\u0000${source}`).digest('hex').slice(0, 10);
    const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
    const suffix = entry === 'main' ? '' : `.${entry}`;
    writeFileSync(join(dir, `${safe}${suffix}--${hash}.wgsl`), source);
  });
}
