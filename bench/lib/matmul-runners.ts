/**
 * float32 matmul C = A·B (A [M, K], B [K, N], values from fixed seeds) for each framework, each
 * run waiting for completion: shared by bench/matmul.ts and bench/suite.ts.
 */
import * as kd from '../../src/index.js';
import { operandModes, planMatmul } from '../../src/kernels/matmul.js';
import { tf } from './tfjs.js';
import { randArray } from './timing.js';

export interface Runner {
  run(): Promise<void>;
  dispose(): void;
}

export function matmulFlops(M: number, K: number, N: number): number {
  return 2 * M * K * N;
}

/** The kernel kdgpu picks for this shape, e.g. "tiled 16×16 n4n4" or "shared 64×64 (4×4 per invocation) n4n4". */
export function kdMatmulKernel(engine: kd.Engine, M: number, K: number, N: number): string {
  const plan = planMatmul(M, N, K, engine.adapter.software, engine.subgroups, engine.adapter.kind === 'llvmpipe');
  const modes = operandModes(M, N, K, false, false).join('');
  if (plan.kind === 'tiled') return `tiled ${plan.tile.tm}×${4 * plan.tile.tn4}${plan.tile.sg ? ' subgroup' : ''} ${modes}`;
  if (plan.kind === 'shared') return `shared ${plan.tile.tm * plan.tile.wy}×${4 * plan.tile.tn4 * plan.tile.wx} (${plan.tile.tm}×${4 * plan.tile.tn4} per invocation) ${modes}`;
  return 'general';
}

/** kdgpu: one matmul under noGrad, then engine.sync(). */
export function kdMatmul(engine: kd.Engine, M: number, K: number, N: number): Runner {
  const a = kd.tensor(randArray(M * K, 1), [M, K]);
  const b = kd.tensor(randArray(K * N, 2), [K, N]);
  return {
    async run() {
      const c = kd.noGrad(() => kd.matmul(a, b));
      await engine.sync();
      c.dispose();
    },
    dispose() {
      a.dispose();
      b.dispose();
    },
  };
}

/** tfjs on the active backend: tf.matMul in a tidy, then `sync` (see tfjs.ts syncFor). */
export function tfMatmul(M: number, K: number, N: number, sync: () => Promise<void>): Runner {
  const a = tf.tensor2d(randArray(M * K, 1), [M, K]);
  const b = tf.tensor2d(randArray(K * N, 2), [K, N]);
  return {
    async run() {
      tf.tidy(() => {
        tf.matMul(a, b);
      });
      await sync();
    },
    dispose() {
      a.dispose();
      b.dispose();
    },
  };
}
