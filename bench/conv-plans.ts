/**
 * A/B of conv plans per pass, in one process: for each conv layer of mnist-cnn-teacher and
 * mnist-cnn-small at --batch, each pass's candidates (the forward and input-gradient kernel's
 * register tiles; the weight gradient's direct-kernel tiles and its im2col + matmul formulation)
 * run the same pass after one warm-up run that compiles each and checks it against the first
 * candidate's result, then --reps rounds that alternate between the candidates; medians of
 * wall-clock GFLOP/s. Candidates whose effective tile is the same (a tile clamped to the layer's
 * channels) run once.
 *
 *   npx tsx bench/conv-plans.ts [--layer conv1|teacher-conv2|small-conv2] [--pass fwd,dx,dw]
 *                               [--batch 256] [--reps 5] [--out]
 *
 * --out writes bench/results/conv-plans-<adapter kind>-<layer>.json (the passes not run are kept
 * from the file there), the numbers the planner
 * (src/kernels/conv2d/plan.ts) follows and test/conv-plans.test.ts checks it against.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import type { PooledBuffer } from '../src/gpu/buffer-pool.js';
import {
  convCandidates,
  convPlanKey,
  convFlops,
  planConvTiles,
  runConv2d,
  runConv2dGradInput,
  runConv2dGradWeight,
  type ConvPass,
  type ConvPlanKey,
  type ConvTiles,
} from '../src/kernels/conv2d/index.js';
import { CONV_LAYERS, layerTensors } from './lib/suite-conv-cases.js';
import { median } from './lib/timing.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const slug = (name: string) => name.replace(/ /g, '-');
const layers = CONV_LAYERS.filter((l) => opt('layer', '') === '' || slug(l.name) === opt('layer', ''));
if (!layers.length) throw new Error(`--layer: one of ${CONV_LAYERS.map((l) => slug(l.name)).join(', ')}`);
const passes = opt('pass', 'fwd,dx,dw').split(',') as ConvPass[];
const B = Number(opt('batch', '256'));
const REPS = Number(opt('reps', '5'));
const engine = await kd.init();
const kind = engine.adapter.kind;

/** A candidate's name: what it runs (its effective tile). */
function nameOf(k: ConvPlanKey): string {
  if (k.formulation === 'im2col-gemm') return 'im2col + matmul';
  return 'TP' in k ? `direct ${k.TP}×${k.TO}` : `direct ${k.TOW}×${k.TCW}×${k.TPW}${k.allKh ? ' all rows' : ''}`;
}

const here = dirname(fileURLToPath(import.meta.url));
const count = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
for (const l of layers) {
  const { g, tensors, xb, wb, bb, dyb } = layerTensors(l, B);
  const flops = convFlops(g);
  const doc: Record<string, unknown> = {
    adapter: { kind, description: engine.adapter.description || engine.adapter.device, subgroups: engine.subgroups },
    date: new Date().toISOString(),
    layer: { name: l.name, C: l.C, O: l.O, S: l.S, batch: B },
    reps: REPS,
    passes: {} as Record<string, unknown>,
  };
  for (const pass of passes) {
    // One candidate per distinct effective plan.
    const seen = new Set<string>();
    const cands = convCandidates(pass)
      .filter((t) => {
        const k = JSON.stringify(convPlanKey(pass, g, t));
        return !seen.has(k) && (seen.add(k), true);
      })
      .map((t): [string, ConvTiles] => [nameOf(convPlanKey(pass, g, t)), t]);
    const outLen = pass === 'fwd' ? count(g.outShape) : pass === 'dx' ? count([B, l.C, l.S, l.S]) : l.O * l.C * 9;
    const run = (t: ConvTiles): PooledBuffer =>
      pass === 'fwd' ? runConv2d(engine, xb, wb, g, { bias: bb, activation: 'relu' }, t) : pass === 'dx' ? runConv2dGradInput(engine, dyb, wb, g, t) : runConv2dGradWeight(engine, xb, dyb, g, t);
    const ms: Record<string, number[]> = {};
    let first: Float32Array | null = null;
    for (let rep = 0; rep <= REPS; rep++) {
      for (const [name, t] of cands) {
        const t0 = performance.now();
        const out = run(t);
        await engine.sync();
        const dt = performance.now() - t0;
        if (rep === 0) {
          const got = new Float32Array(await engine.read(out, outLen * 4));
          if (!first) first = got;
          else {
            // Tiles change the weight gradient's split sums (not the forward's order): a relative bound.
            const scale = first.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
            const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - first![i])), 0);
            if (worst > 1e-4 * scale) throw new Error(`${l.name} ${pass}: ${name} differs from ${cands[0][0]} by ${worst} (max |value| ${scale})`);
          }
        } else (ms[name] ??= []).push(dt);
        engine.pool.release(out);
      }
    }
    const chosen = JSON.stringify(convPlanKey(pass, g, planConvTiles(kind, pass, g)));
    const rows = cands.map(([name, t]) => ({ name, plan: convPlanKey(pass, g, t), ms: median(ms[name]), gflops: flops / (median(ms[name]) * 1e6) }));
    (doc.passes as Record<string, unknown>)[pass] = rows;
    console.log(`${l.name} ${pass}, batch ${B}, on ${engine.adapter.description || kind}: GFLOP/s, median of ${REPS} (* the planner's choice)`);
    for (const r of [...rows].sort((p, q) => q.gflops - p.gflops)) console.log(`  ${JSON.stringify(r.plan) === chosen ? '*' : ' '} ${r.name.padEnd(18)} ${r.gflops.toFixed(2).padStart(7)}  ${r.ms.toFixed(1)} ms`);
  }
  for (const v of tensors) v.dispose();
  if (argv.includes('--out')) {
    const file = join(here, 'results', `conv-plans-${kind}-${slug(l.name)}.json`);
    mkdirSync(dirname(file), { recursive: true });
    // A run of some passes keeps the file's other passes.
    if (existsSync(file)) {
      const old = JSON.parse(readFileSync(file, 'utf8')) as typeof doc & { passes: Record<string, unknown> };
      if (old.layer && JSON.stringify(old.layer) === JSON.stringify(doc.layer)) doc.passes = { ...old.passes, ...(doc.passes as Record<string, unknown>) };
    }
    writeFileSync(`${file}.tmp`, `${JSON.stringify(doc, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
    console.log(`wrote ${file}`);
  }
}
process.exit(0);
