/** Which softmax kernel runs a row-wise softmax: by row count, row length and adapter kind. */
import type { AdapterKind } from '../gpu/adapter.js';

/** 'workgroup': 64 invocations share a row; 'thread': one invocation per row (softmax.ts). */
export type SoftmaxPlan = 'workgroup' | 'thread';

/**
 * CPU adapters: fewest rows at which one invocation per row also wins for long rows (L > 4096);
 * SwiftShader's barriers cost more than llvmpipe's (bench/results/softmax-plans-*.json).
 */
const LONG_ROWS_MIN: Partial<Record<AdapterKind, number>> = { llvmpipe: 16, swiftshader: 4, software: 4 };

/**
 * The plan for `rows` rows of length `L` on an adapter of `kind`. CPU adapters (from the committed
 * A/B numbers, `npx tsx bench/softmax-plans.ts --out …`, held by test/softmax-plans.test.ts): a
 * workgroup's barriers cost far more than its parallelism gains there, so one invocation per row
 * wins unless there are too few rows to occupy the SIMD lanes and the rows are long. Hardware: not
 * measured (no GPU was available); rows up to 32 stay on one invocation (class logits) and longer
 * ones are spread over a workgroup, as GPU softmax kernels do.
 */
export function planSoftmax(L: number, rows: number, kind: AdapterKind): SoftmaxPlan {
  const longRows = LONG_ROWS_MIN[kind];
  if (longRows !== undefined) return L <= 256 || (rows >= 4 && L <= 4096) || rows >= longRows ? 'thread' : 'workgroup';
  return L <= 32 ? 'thread' : 'workgroup';
}
