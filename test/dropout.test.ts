import { expect } from 'chai';
import * as kd from '../src/index.js';
import { philox, setup } from './helpers.js';


function keptMask(y: ArrayLike<number>): Uint8Array {
  const m = new Uint8Array(y.length);
  for (let i = 0; i < y.length; i++) m[i] = y[i] !== 0 ? 1 : 0;
  return m;
}

function fraction(m: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < m.length; i++) k += m[i];
  return k / m.length;
}

describe('dropout', () => {
  before(setup);
  const N = 1_000_000;
  let ones: kd.Tensor;
  before(() => {
    ones = kd.ones([N]);
  });
  after(() => ones.dispose());

  it('the CPU reference passes the Random123 known-answer tests', () => {
    const hex = (v: number[]) => v.map((x) => x.toString(16).padStart(8, '0'));
    expect(hex(philox([0, 0, 0, 0], [0, 0]))).to.deep.equal(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    expect(hex(philox([-1, -1, -1, -1], [-1, -1]))).to.deep.equal(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).to.deep.equal([
      'd16cfe09',
      '94fdcceb',
      '5001e420',
      '24126ea1',
    ]);
  });

  it('the GPU mask is Philox4x32-10 of (element / 4, 0, step) under the seed, bit for bit', async () => {
    const seed = 2 ** 40 + 12345; // both key words non-zero
    const p = 0.3;
    const n = 4099; // not a multiple of 4
    const x = kd.ones([n]);
    kd.dropoutSeed(seed);
    kd.dropout(x, { p }).dispose(); // step 0
    const y = await kd.dropout(x, { p }).data(); // step 1
    const threshold = Math.round(p * 2 ** 32);
    const scale = Math.fround(1 / (1 - p));
    for (let t = 0; t * 4 < n; t++) {
      const words = philox([t, 0, 1, 0], [seed >>> 0, Math.floor(seed / 2 ** 32)]);
      for (let j = 0; j < 4 && 4 * t + j < n; j++) {
        expect(y[4 * t + j], `element ${4 * t + j}`).to.equal(words[j] >= threshold ? scale : 0);
      }
    }
    x.dispose();
  });

  // (a relative 0.5% is ≥ 5 standard deviations of the kept fraction for these p)
  for (const p of [0.5, 0.2, 0.1]) {
    it(`p = ${p}: over 1e6 elements the kept fraction is within 0.5% of 1 − p and kept values are x / (1 − p)`, async () => {
      const x = kd.tensor(Float32Array.from({ length: N }, (_, i) => 1 + (i % 7)), [N]);
      const y = await kd.dropout(x, { p, seed: 2024 }).data();
      const m = keptMask(y);
      const kept = fraction(m);
      expect(Math.abs(kept - (1 - p)) / (1 - p), `kept ${kept}`).to.be.lessThan(0.005);
      const scale = Math.fround(1 / (1 - p));
      for (let i = 0; i < N; i += 997) if (m[i]) expect(y[i]).to.equal(Math.fround((1 + (i % 7)) * scale));
      x.dispose();
    });
  }

  it('the same seed reproduces the same masks; successive steps differ with overlap ≈ (1 − p)²', async () => {
    const p = 0.5;
    kd.dropoutSeed(1234);
    const a1 = keptMask(await kd.dropout(ones, { p }).data());
    const a2 = keptMask(await kd.dropout(ones, { p }).data());
    expect(kd.dropoutState()).to.deep.equal({ seed: 1234, step: 2 });
    kd.dropoutSeed(1234);
    const b1 = keptMask(await kd.dropout(ones, { p }).data());
    const b2 = keptMask(await kd.dropout(ones, { p }).data());
    expect(Buffer.from(b1).equals(Buffer.from(a1)), 'step 0 replays').to.equal(true);
    expect(Buffer.from(b2).equals(Buffer.from(a2)), 'step 1 replays').to.equal(true);
    let both = 0;
    let differ = 0;
    for (let i = 0; i < N; i++) {
      both += a1[i] & a2[i];
      differ += a1[i] ^ a2[i];
    }
    expect(differ).to.be.greaterThan(0);
    const overlap = both / N;
    expect(Math.abs(overlap - (1 - p) ** 2) / (1 - p) ** 2, `overlap ${overlap}`).to.be.lessThan(0.01);
    // another seed gives another mask; a per-call seed is reproducible and leaves the stream alone
    kd.dropoutSeed(99);
    const c1 = keptMask(await kd.dropout(ones, { p }).data());
    expect(Buffer.from(c1).equals(Buffer.from(a1))).to.equal(false);
    const s1 = keptMask(await kd.dropout(ones, { p, seed: 7 }).data());
    const s2 = keptMask(await kd.dropout(ones, { p, seed: 7 }).data());
    expect(Buffer.from(s1).equals(Buffer.from(s2))).to.equal(true);
    expect(kd.dropoutState()).to.deep.equal({ seed: 99, step: 1 });
    // a saved state resumes the stream (checkpoints)
    kd.setDropoutState({ seed: 1234, step: 1 });
    const r2 = keptMask(await kd.dropout(ones, { p }).data());
    expect(Buffer.from(r2).equals(Buffer.from(a2)), 'restored step 1').to.equal(true);
  });

  it('eval mode is the identity, without a kernel; gradients pass through', async () => {
    const x = kd.randn([3, 5], { seed: 3, requiresGrad: true });
    const before = kd.engine().stats().dispatches;
    const step = kd.dropoutState().step;
    const y = kd.dropout(x, { p: 0.5, training: false });
    expect(kd.engine().stats().dispatches).to.equal(before);
    expect(kd.dropoutState().step).to.equal(step);
    expect(Array.from(await y.data())).to.deep.equal(Array.from(await x.data()));
    y.dispose(); // the caller's handle only: x stays usable
    expect(Array.from(await x.data()).length).to.equal(15);
    const z = kd.dropout(x, { p: 0.5, training: false });
    z.sum().backward();
    expect(Array.from(await x.grad!.data())).to.deep.equal(new Array(15).fill(1));
    x.dispose();
  });

  it('the gradient uses exactly the forward mask', async () => {
    const n = 10_000;
    const p = 0.4;
    const x = kd.rand([n], { seed: 4, low: 1, high: 2, requiresGrad: true });
    const y = kd.dropout(x, { p });
    const g = kd.randn([n], { seed: 5 });
    y.backward(g);
    const yv = await y.data();
    const xv = await x.data();
    const gv = await g.data();
    const gx = await x.grad!.data();
    const scale = Math.fround(1 / (1 - p));
    let kept = 0;
    for (let i = 0; i < n; i++) {
      if (yv[i] !== 0) {
        kept++;
        expect(yv[i]).to.equal(Math.fround(xv[i] * scale));
        expect(gx[i]).to.equal(Math.fround(gv[i] * scale));
      } else {
        expect(gx[i] === 0, `element ${i}`).to.equal(true);
      }
    }
    expect(kept).to.be.within(0.55 * n, 0.65 * n);
    for (const t of [x, y, g]) t.dispose();
  });

  it('p = 0 keeps everything, p = 1 zeroes everything', async () => {
    const x = kd.randn([33], { seed: 8 });
    expect(Array.from(await kd.dropout(x, { p: 0 }).data())).to.deep.equal(Array.from(await x.data()));
    expect(Array.from(await kd.dropout(x, { p: 1 }).data(), (v) => v + 0)).to.deep.equal(new Array(33).fill(0));
    x.dispose();
  });

  it('bad input: errors name the op and what was expected', () => {
    const x = kd.zeros([2, 2]);
    const msg = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    expect(msg(() => kd.dropout(x, { p: 1.5 }))).to.contain('dropout').and.contain('[0, 1]').and.contain('1.5');
    expect(msg(() => kd.dropout(kd.zeros([2], { dtype: 'int32' })))).to.contain('dropout').and.contain('float32');
    expect(msg(() => kd.dropout(x, { seed: -1 }))).to.contain('dropout').and.contain('seed');
    expect(msg(() => kd.dropoutSeed(0.5))).to.contain('dropoutSeed');
    x.dispose();
  });
});
