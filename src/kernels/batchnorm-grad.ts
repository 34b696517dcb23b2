/** Batch normalization's backward passes (see batchnorm.ts for the method and the coefficient layout). */
import type { PooledBuffer } from '../gpu/buffer-pool.js';
import type { Engine, Kernel } from '../gpu/engine.js';
import { bindings, WG, cachedKernel, dispatch1d, guardedIndex } from '../gpu/kernel-registry.js';
import { chunking, checkChannels, ENTRY, INDEX, NEUMAIER, REDUCE_ENTRY, REDUCE_PARAMS, UNIT_LOOP, UNIT_NEXT, units, type BatchNormGeometry, type Elem } from './batchnorm-wgsl.js';

function gradSumsKernel(T: Elem): Kernel {
  const vec = T !== 'f32';
  const lanes = (v: string) => (vec ? `(${v}.x + ${v}.y + ${v}.z + ${v}.w)` : v);
  return {
    name: `batchnorm.gradSums${vec ? '.vec4' : ''}`,
    source: `
${REDUCE_PARAMS}
${bindings(['dy', 'read', `array<${T}>`], ['x', 'read', `array<${T}>`], ['coef', 'read', 'array<vec4<f32>>'], ['part', 'read_write', 'array<vec4<f32>>'])}
var<workgroup> slots: array<vec2<f32>, ${WG}>;
${NEUMAIER('kahan', T)}
${NEUMAIER('kahan1', 'f32')}
${REDUCE_ENTRY}
  let k4 = coef[p.C + c];
  let shift = ${T}(k4.x);
  let delta = ${T}(k4.y);
  var sg = ${T}(0.0);
  var cg = ${T}(0.0);
  var sgx = ${T}(0.0);
  var cgx = ${T}(0.0);
${UNIT_LOOP}
    let g = dy[at];
    sg = kahan(sg, g, &cg);
    sgx = kahan(sgx, g * ((x[at] - shift) - delta), &cgx);${UNIT_NEXT}
  }
  let tg = sg + cg;
  let tgx = sgx + cgx;
  slots[lid.x] = vec2<f32>(${lanes('tg')}, ${lanes('tgx')});
  workgroupBarrier();
  if (lid.x == 0u) {
    var a = 0.0; var ca = 0.0;
    var b = 0.0; var cb = 0.0;
    for (var t = 0u; t < ${WG}u; t++) {
      a = kahan1(a, slots[t].x, &ca);
      b = kahan1(b, slots[t].y, &cb);
    }
    part[c * p.K + k] = vec4<f32>(a + ca, b + cb, 0.0, 0.0);
  }
}`,
  };
}

function gradFinishKernel(params: boolean, input: boolean): Kernel {
  return {
    name: `batchnorm.gradFinish${params ? '.params' : ''}${input ? '.input' : ''}`,
    source: `
struct Params { total: u32, K: u32, n: f32, }
@group(0) @binding(0) var<storage, read> part: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> coef: array<vec4<f32>>;
${params ? `@group(0) @binding(2) var<storage, read_write> gradWeight: array<f32>;
@group(0) @binding(3) var<storage, read_write> gradBias: array<f32>;` : ''}
${input ? '@group(0) @binding(4) var<storage, read_write> coefGrad: array<vec4<f32>>;' : ''}
@group(0) @binding(5) var<uniform> p: Params;
${NEUMAIER('kahan', 'f32')}
${ENTRY}
${guardedIndex('c', 'p.total')}
  var sg = 0.0; var cg = 0.0;
  var sgx = 0.0; var cgx = 0.0;
  for (var k = 0u; k < p.K; k++) {
    let v = part[c * p.K + k];
    sg = kahan(sg, v.x, &cg);
    sgx = kahan(sgx, v.y, &cgx);
  }
  sg += cg;
  sgx += cgx;
  let cf = coef[p.total + c]; // (shift, delta = mean − shift, invstd, alpha)
  ${params ? `gradWeight[c] = sgx * cf.z;
  gradBias[c] = sg;` : ''}
  ${
    input
      ? `// dx = α·dy − α·Σdy/n − α·invstd²·Σdy(x − mean)/n · (x − mean), with x − mean = (x − shift) − delta
  let k2 = cf.w * cf.z * cf.z * sgx / p.n;
  coefGrad[c] = vec4<f32>(cf.x, cf.w, cf.w * sg / p.n - k2 * cf.y, k2);`
      : ''
  }
}`,
  };
}

function gradInputKernel(T: Elem, batchStats: boolean): Kernel {
  return {
    name: `batchnorm.gradInput${batchStats ? '' : '.running'}${T === 'f32' ? '' : '.vec4'}`,
    source: `
struct Params { total: u32, C: u32, S: u32, }
@group(0) @binding(0) var<storage, read> dy: array<${T}>;
${batchStats ? `@group(0) @binding(1) var<storage, read> x: array<${T}>;` : ''}
@group(0) @binding(2) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dx: array<${T}>;
@group(0) @binding(4) var<uniform> p: Params;
${ENTRY}${INDEX}
  let k = coef[(i / p.S) % p.C];
  ${batchStats ? `dx[i] = ${T}(k.y) * dy[i] - ${T}(k.z) - ${T}(k.w) * (x[i] - ${T}(k.x));` : `dx[i] = ${T}(k.y) * dy[i];`}
}`,
  };
}

export interface BatchNormGrads {
  dx: PooledBuffer | null;
  dWeight: PooledBuffer | null;
  dBias: PooledBuffer | null;
}

/**
 * Gradients from dy [N, C, S]: the input's (when `input`) and weight/bias's (when `params`).
 * `batchStats`: the forward normalized with the batch's statistics (so dx flows through them);
 * otherwise with running statistics, and dx = α·dy.
 */
export function runBatchNormBackward(
  engine: Engine,
  dy: PooledBuffer,
  x: PooledBuffer,
  coef: PooledBuffer,
  geo: BatchNormGeometry,
  want: { input: boolean; params: boolean; batchStats: boolean },
): BatchNormGrads {
  checkChannels(engine, geo);
  const { T, S, total } = units(geo);
  const out: BatchNormGrads = { dx: null, dWeight: null, dBias: null };
  const n = geo.N * geo.S;
  const sumsForInput = want.input && want.batchStats;
  let coefGrad: PooledBuffer | null = null;
  if (sumsForInput || want.params) {
    const u = chunking(geo, S);
    const K = u.K;
    const part = engine.pool.acquire(geo.C * K * 16);
    // (an empty batch still runs: its chunks write zero partials, so the gradients are zeros)
    engine.dispatch(cachedKernel(`batchnorm.gradSums${T}`, () => gradSumsKernel(T)), { dy, x, coef, part }, u, [K, geo.C]);
    const buffers: Record<string, PooledBuffer> = { part, coef };
    if (want.params) {
      out.dWeight = buffers.gradWeight = engine.pool.acquire(geo.C * 4);
      out.dBias = buffers.gradBias = engine.pool.acquire(geo.C * 4);
    }
    if (sumsForInput) coefGrad = buffers.coefGrad = engine.pool.acquire(geo.C * 16);
    const finish = cachedKernel(`batchnorm.gradFinish${want.params}${sumsForInput}`, () => gradFinishKernel(want.params, sumsForInput));
    dispatch1d(engine, finish, buffers, { total: geo.C, K, n }, geo.C);
    engine.pool.release(part);
  }
  if (want.input) {
    out.dx = engine.pool.acquire(Math.max(geo.N * geo.C * geo.S, 1) * 4);
    if (total > 0) {
      const kernel = cachedKernel(`batchnorm.gradInput${T}${want.batchStats}`, () => gradInputKernel(T, want.batchStats));
      const buffers: Record<string, PooledBuffer> = want.batchStats ? { dy, x, coef: coefGrad!, dx: out.dx } : { dy, coef, dx: out.dx };
      dispatch1d(engine, kernel, buffers, { total, C: geo.C, S }, total);
    }
    if (coefGrad) engine.pool.release(coefGrad);
  }
  return out;
}
