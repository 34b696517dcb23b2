/**
 * Memory of a long distillation run: kdgpu's distillation step (steps-kdgpu.ts) repeated N times
 * on one batch, each step waited for; engine.memory() is read after step 10 and after step N. A
 * steady loop allocates nothing after its first steps, so both readings should be equal.
 */
import type * as kd from '../../src/index.js';
import { kdDistillStep, type DistillSpec } from './steps-kdgpu.js';

export interface MemoryResult {
  teacher: string;
  student: string;
  batch: number;
  steps: number;
  at10: kd.EngineMemory;
  atEnd: kd.EngineMemory;
  /** Every field of engine.memory() equal at both points. */
  flat: boolean;
  seconds: number;
  stepsPerSecond: number;
}

export const totalBytes = (m: kd.EngineMemory) => m.liveBytes + m.pooledBytes + m.internalBytes;

export async function measureMemory(engine: kd.Engine, spec: DistillSpec, batch: number, steps: number, log: (line: string) => void): Promise<MemoryResult> {
  const r = kdDistillStep(engine, spec, batch);
  let at10: kd.EngineMemory | null = null;
  const t0 = performance.now();
  let lastLog = t0;
  try {
    for (let i = 1; i <= steps; i++) {
      await r.run();
      if (i === 10) at10 = engine.memory();
      if (performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        log(`  memory run: step ${i} of ${steps} (${((lastLog - t0) / 1000).toFixed(0)} s)`);
      }
    }
    const atEnd = engine.memory();
    const seconds = (performance.now() - t0) / 1000;
    const flat = (Object.keys(atEnd) as (keyof kd.EngineMemory)[]).every((k) => atEnd[k] === at10![k]);
    return { teacher: spec.teacher, student: spec.student, batch, steps, at10: at10!, atEnd, flat, seconds, stepsPerSecond: steps / seconds };
  } finally {
    r.dispose();
  }
}
