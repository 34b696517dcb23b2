/**
 * The matmul planner follows the measurements: for each adapter kind with committed A/B numbers
 * (bench/results/matmul-plans-<kind>-<shape>.json, written by `npx tsx bench/matmul-plans.ts
 * --shape M,N,K --out FILE`), planMatmul picks the tile that ran fastest there among the tiles it
 * can choose. Rerun the bench and commit its files when a kernel or the planner changes.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planMatmul, TILE_GPU, TILE_LARGE, TILE_LARGE_SG, TILE_MID, TILE_SMALL, TILE_SMALL_SG, type MatmulPlan, type MatmulTile, type SharedTile } from '../src/kernels/matmul.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results');

interface PlansFile {
  adapter: { kind: string; subgroups: boolean };
  shape: { M: number; N: number; K: number; trans: string };
  /** kind: absent in files written before the shared kernels (all 'tiled' then). */
  plans: { name: string; kind?: MatmulPlan['kind']; tile: MatmulTile | SharedTile | null; gflops: number; cpuGflops?: number }[];
}

/**
 * What a plan is ranked by: GFLOP per CPU-second of the bench process where the file has it (the
 * CPU adapters run in that process; other load on a shared machine disturbs it far less than the
 * wall clock), else wall-clock GFLOP/s.
 */
const speed = (p: PlansFile['plans'][number]) => p.cpuGflops ?? p.gflops;

/**
 * The tiles planMatmul chooses among on a CPU adapter. The other plans in the files are measured
 * for comparison: extra subgroup shapes, and the GPU plans (the shared kernels and the GPU
 * register tile), which the planner keeps for hardware adapters and which must be slower here.
 */
const PLANNER_TILES = [TILE_SMALL, TILE_MID, TILE_LARGE, TILE_SMALL_SG, TILE_LARGE_SG];
const norm = (t: MatmulTile | SharedTile) => JSON.stringify({ ...t, sg: Boolean((t as MatmulTile).sg) });
const sameTile = (p: PlansFile['plans'][number], b: MatmulTile) => (p.kind ?? 'tiled') === 'tiled' && p.tile !== null && norm(p.tile) === norm(b);

describe('matmul plans follow the committed A/B numbers', () => {
  const files = readdirSync(RESULTS).filter((f) => /^matmul-plans-.*\.json$/.test(f));

  it('there are numbers for llvmpipe and SwiftShader', () => {
    const kinds = new Set(files.map((f) => (JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as PlansFile).adapter.kind));
    expect([...kinds].sort()).to.deep.equal(['llvmpipe', 'swiftshader']);
  });

  for (const f of files) {
    it(`${f}: the planner's tile is the fastest it could have picked`, () => {
      const r = JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as PlansFile;
      const { M, N, K } = r.shape;
      const candidates = r.plans.filter((p) => PLANNER_TILES.some((t) => sameTile(p, t)) && (r.adapter.subgroups || !(p.tile as MatmulTile).sg));
      expect(candidates.length, 'plans the planner could pick').to.be.at.least(2);
      const best = candidates.reduce((a, b) => (speed(b) > speed(a) ? b : a));
      const plan = planMatmul(M, N, K, r.adapter.kind !== 'hardware', r.adapter.subgroups, r.adapter.kind === 'llvmpipe');
      expect(plan.kind).to.equal('tiled');
      const chosen = r.plans.find((p) => plan.kind === 'tiled' && sameTile(p, plan.tile));
      expect(chosen?.name, `planner picked ${JSON.stringify(plan)}; fastest was ${best.name} at ${speed(best).toFixed(2)} GFLOP per CPU-second`).to.equal(best.name);
      // The GPU plans are slower here than the planner's pick.
      for (const p of r.plans.filter((q) => q.kind === 'shared' || sameTile(q, TILE_GPU))) {
        expect(speed(p), `${p.name} against the planner's ${chosen!.name}`).to.be.below(speed(chosen!));
      }
    });
  }
});
