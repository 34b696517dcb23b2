/**
 * Non-finite weights (issue 24): weightsToBytes/saveWeights refuse them, loading them warns (or
 * refuses with nonFinite: 'error'), nonFiniteWeights counts them on the host, Keras files included.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

const { nn } = kd;

const tiny = (seed: number) => new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 3, { rng: seed }), new nn.ReLU(), new nn.Linear(3, 2, { rng: seed + 1 }));

async function poison(m: kd.nn.Module, at: [number, number][]): Promise<void> {
  for (const [p, i] of at) {
    const t = m.parameters()[p];
    const d = (await t.data()) as Float32Array;
    d[i] = i % 2 ? Infinity : NaN;
    t.engine.writeInto(t.bufferFor('test'), d);
  }
}

describe('non-finite weights', function () {
  this.timeout(120_000);
  before(setup);
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kdgpu-finite-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('saveWeights refuses NaN weights and writes nothing; allowNonFinite writes them', async () => {
    const m = tiny(0);
    await poison(m, [[0, 2], [2, 1]]);
    const path = join(dir, 'nan.safetensors');
    let msg = '';
    await kd.saveWeights(m, path).catch((e: Error) => (msg = e.message));
    expect(msg).to.equal('kdgpu: the weights are not finite: 2 values in 2 tensors are not finite (the first: 1.weight[2] = NaN); nothing written (pass allowNonFinite to write them anyway)');
    expect(existsSync(path)).to.equal(false);
    await kd.saveWeights(m, path, {}, { allowNonFinite: true });
    expect(existsSync(path)).to.equal(true);
    m.dispose();
  });

  it('loading them warns (onWarning), refuses with nonFinite: error, and is silent for finite weights', async () => {
    const m = tiny(1);
    const good = await nn.weightsToBytes(m);
    await poison(m, [[0, 1], [0, 3]]);
    const bad = await nn.weightsToBytes(m, {}, { allowNonFinite: true });
    const warnings: string[] = [];
    const onWarning = (s: string) => void warnings.push(s);
    nn.loadWeightsFromBytes(tiny(2), good, 'good.safetensors', { onWarning });
    expect(warnings).to.deep.equal([]);
    nn.loadWeightsFromBytes(tiny(2), bad, 'bad.safetensors', { onWarning });
    expect(warnings).to.deep.equal(['kdgpu: bad.safetensors: 2 values in 1 tensor are not finite (the first: 1.weight[1] = Infinity); the model will compute NaN (were these weights saved from a diverged run?)']);
    expect(() => nn.loadWeightsFromBytes(tiny(2), bad, 'bad.safetensors', { nonFinite: 'error' })).to.throw(/^kdgpu: bad\.safetensors: 2 values in 1 tensor are not finite/);
    const report = nn.nonFiniteWeights({ path: 'bad.safetensors', bytes: bad, metadata: {} });
    expect(report).to.deep.equal({ tensors: 1, values: 2, first: '1.weight[1] = Infinity' });
    expect(nn.nonFiniteWeights({ path: 'good.safetensors', bytes: good, metadata: {} })).to.equal(null);
    // Keras layers are scanned too.
    const keras = { layout: 'weights' as const, layers: [{ name: 'dense', weights: [{ path: 'dense/kernel:0', name: 'kernel', shape: [2], dtype: 'float32' as const, data: new Float32Array([1, -Infinity]) }] }] };
    expect(nn.nonFiniteWeights({ path: 'w.h5', bytes: new Uint8Array(), metadata: {}, keras })).to.deep.equal({ tensors: 1, values: 1, first: 'dense/kernel[1] = -Infinity' });
    m.dispose();
  });
});
