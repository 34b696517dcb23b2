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
import { planMatmul, TILE_LARGE, TILE_LARGE_SG, TILE_SMALL, TILE_SMALL_SG, type MatmulTile } from '../src/kernels/matmul.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results');

interface PlansFile {
  adapter: { kind: string; subgroups: boolean };
  shape: { M: number; N: number; K: number; trans: string };
  plans: { name: string; tile: MatmulTile | null; gflops: number }[];
}

/** The tiles planMatmul chooses among on a CPU adapter (the others in the files are for comparison). */
const PLANNER_TILES = [TILE_SMALL, TILE_LARGE, TILE_SMALL_SG, TILE_LARGE_SG];
const sameTile = (a: MatmulTile | null, b: MatmulTile) => a !== null && JSON.stringify({ ...a, sg: Boolean(a.sg) }) === JSON.stringify({ ...b, sg: Boolean(b.sg) });

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
      const candidates = r.plans.filter((p) => PLANNER_TILES.some((t) => sameTile(p.tile, t)) && (r.adapter.subgroups || !p.tile!.sg));
      expect(candidates.length, 'plans the planner could pick').to.be.at.least(2);
      const best = candidates.reduce((a, b) => (b.gflops > a.gflops ? b : a));
      const plan = planMatmul(M, N, K, r.adapter.kind !== 'hardware', r.adapter.subgroups, r.adapter.kind === 'llvmpipe');
      expect(plan.kind).to.equal('tiled');
      const chosen = r.plans.find((p) => plan.kind === 'tiled' && sameTile(p.tile, plan.tile));
      expect(chosen?.name, `planner picked ${JSON.stringify(plan)}; fastest was ${best.name} at ${best.gflops.toFixed(2)} GFLOP/s`).to.equal(best.name);
    });
  }
});
