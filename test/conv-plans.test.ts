/**
 * The conv planner follows the measurements: for each adapter kind with committed A/B numbers
 * (bench/results/conv-plans-<kind>-<layer>.json, written by `npx tsx bench/conv-plans.ts --out`),
 * planConvTiles picks, for each pass of each layer, the candidate that ran fastest there. Rerun
 * the bench and commit its files when a conv kernel or the planner changes.
 */
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdapterKind } from '../src/gpu/adapter.js';
import * as kd from '../src/index.js';
import { convPlanKey, planConvTiles, type ConvPass, type ConvPlanKey } from '../src/kernels/conv2d/index.js';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'results');

interface PlansFile {
  adapter: { kind: AdapterKind; subgroups: boolean };
  layer: { name: string; C: number; O: number; S: number; batch: number };
  passes: Partial<Record<ConvPass, { name: string; plan: ConvPlanKey; gflops: number }[]>>;
}

describe('conv plans follow the committed A/B numbers', () => {
  const files = readdirSync(RESULTS).filter((f) => /^conv-plans-.*\.json$/.test(f));
  const read = (f: string) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as PlansFile;

  it('there are numbers for every layer and pass on llvmpipe and SwiftShader', () => {
    const kinds = new Set(files.map((f) => read(f).adapter.kind));
    expect([...kinds].sort()).to.deep.equal(['llvmpipe', 'swiftshader']);
    for (const kind of kinds) {
      const layers = files.map(read).filter((r) => r.adapter.kind === kind);
      expect(layers.map((r) => r.layer.name).sort(), kind).to.deep.equal(['conv1', 'small conv2', 'teacher conv2']);
      for (const r of layers) expect(Object.keys(r.passes).sort(), `${kind} ${r.layer.name}`).to.deep.equal(['dw', 'dx', 'fwd']);
    }
  });

  for (const f of files) {
    const r = read(f);
    for (const [pass, rows] of Object.entries(r.passes) as [ConvPass, PlansFile['passes']['fwd'] & object][]) {
      it(`${f} ${pass}: the planner's choice is the fastest candidate`, () => {
        const { name, C, O, S, batch } = r.layer;
        expect(rows.length, 'candidates').to.be.at.least(2);
        const g = kd.planConv2d([batch, C, S, S], [O, C, 3, 3], [O], {});
        const chosen = JSON.stringify(convPlanKey(pass, g, planConvTiles(r.adapter.kind, pass, g)));
        const best = rows.reduce((a, b) => (b.gflops > a.gflops ? b : a));
        const picked = rows.find((x) => JSON.stringify(x.plan) === chosen);
        expect(picked, `${name} ${pass}: the planner's plan ${chosen} is among the candidates`).to.not.equal(undefined);
        expect(picked!.name, `${name} ${pass}: fastest was ${best.name} at ${best.gflops.toFixed(2)} GFLOP/s`).to.equal(best.name);
      });
    }
  }
});
