/**
 * Tape semantics: accumulation, noGrad, seeds, freed graphs, retainGraph, tidy/keep and memory,
 * and an end-to-end chain rule against float64 finite differences.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { scopeDepth } from '../src/autograd/scope.js';
import { setup } from './helpers.js';
import { expectClose, rnd, up } from './op-check.js';
import { binary, map, nd, numericGrad, reduce, unary, type Nd } from './reference.js';

const live = (): number => kd.engine().memory().liveBuffers;

describe('autograd', () => {
  before(setup);

  it('end to end: mean((sigmoid(x·w + b) − t)²) matches float64 finite differences for every leaf', async () => {
    const x = rnd([7, 13], 6000);
    const w = rnd([13], 6001);
    const b = rnd([7, 1], 6002);
    const t = rnd([7, 13], 6003, 0, 1);
    const f = ([xx, ww, bb]: Nd[]): Nd => {
      const z = binary('add', binary('mul', xx, ww), bb);
      const d = binary('sub', unary('sigmoid', z), t);
      return reduce('mean', binary('mul', d, d));
    };
    const want = numericGrad(f, [x, w, b], nd([], [1]));
    const [gx, gw, gb] = [up(x, true), up(w, true), up(b, true)];
    const loss = kd.tidy(() => kd.mean(kd.pow(kd.sub(kd.sigmoid(kd.add(kd.mul(gx, gw), gb)), up(t)), 2)));
    await expectClose(loss, f([x, w, b]), 'loss');
    loss.backward();
    await expectClose(gx.grad!, want[0], 'd loss / d x');
    await expectClose(gw.grad!, want[1], 'd loss / d w');
    await expectClose(gb.grad!, want[2], 'd loss / d b');
  });

  it('gradients accumulate over several uses of a tensor, also through a shared intermediate', async () => {
    const xv = rnd([5], 6100, -1, 1);
    const x = up(xv, true);
    // y = x·x + exp(x) + x → dy/dx = 2x + exp(x) + 1
    kd.add(kd.add(kd.mul(x, x), kd.exp(x)), x).sum().backward();
    await expectClose(x.grad!, map(xv, (v) => 2 * v + Math.exp(v) + 1), 'd/dx (x² + eˣ + x)');
    // h = 3x used twice: y = h·h + h → dy/dx = 3(2h + 1)
    const z = up(xv, true);
    const h = kd.mul(z, 3);
    kd.add(kd.mul(h, h), h).sum().backward();
    await expectClose(z.grad!, map(xv, (v) => 3 * (2 * 3 * v + 1)), 'd/dx (h² + h), h = 3x');
    // the same tensor as both operands of one op
    const u = up(xv, true);
    kd.mul(u, u).sum().backward();
    await expectClose(u.grad!, map(xv, (v) => 2 * v), 'd/dx (x · x)');
    const s = up(xv, true);
    kd.sub(s, s).sum().backward();
    await expectClose(s.grad!, map(xv, () => 0), 'd/dx (x − x)');
  });

  it('gradients accumulate across two backward calls on different graphs; zeroGrad resets', async () => {
    const xv = rnd([2, 3], 6200);
    const wv = rnd([2, 3], 6201);
    const x = up(xv, true);
    const w = up(wv);
    kd.mul(x, w).sum().backward();
    await expectClose(x.grad!, wv, 'after the first backward');
    kd.mul(x, 3).sum().backward();
    await expectClose(x.grad!, map(wv, (v) => v + 3), 'after the second backward');
    x.zeroGrad();
    expect(x.grad).to.equal(null);
    kd.mul(x, 2).sum().backward();
    await expectClose(x.grad!, map(wv, () => 2), 'after zeroGrad and a third backward');
  });

  it('noGrad records nothing and restores the previous mode, also after a throw and for async functions', async () => {
    const x = kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    expect(kd.isGradEnabled()).to.equal(true);
    const y = kd.noGrad(() => {
      expect(kd.isGradEnabled()).to.equal(false);
      const inner = kd.noGrad(() => kd.mul(x, 2));
      expect(kd.isGradEnabled()).to.equal(false);
      return kd.add(inner, x).exp().sum();
    });
    expect(kd.isGradEnabled()).to.equal(true);
    expect(y.requiresGrad).to.equal(false);
    expect(y._node).to.equal(null);
    expect(() => y.backward()).to.throw(/backward: tensor of shape \[\] does not require grad/);
    expect(() =>
      kd.noGrad(() => {
        throw new Error('boom');
      }),
    ).to.throw('boom');
    expect(kd.isGradEnabled()).to.equal(true);
    const p = kd.noGrad(async () => {
      await Promise.resolve();
      return kd.isGradEnabled();
    });
    expect(await p).to.equal(false);
    expect(kd.isGradEnabled()).to.equal(true);
    // a leaf made under noGrad with requiresGrad is still a leaf
    const leaf = kd.noGrad(() => kd.tensor([2], undefined, { requiresGrad: true }));
    kd.mul(leaf, leaf).sum().backward();
    expect(Array.from(await leaf.grad!.data())).to.deep.equal([4]);
  });

  it('backward on a non-scalar without a gradient throws naming the shape; with a seed it works', async () => {
    const xv = rnd([3, 4], 6300);
    const x = up(xv, true);
    const y = kd.mul(x, x);
    expect(() => y.backward()).to.throw(/backward: called on a tensor of shape \[3, 4\] without a gradient/);
    // an explicit seed gradient: d/dx Σ seed·x² = 2x·seed
    const sv = rnd([3, 4], 6301);
    const seed = up(sv);
    y.backward(seed);
    await expectClose(x.grad!, map(xv, (v, i) => 2 * v * sv.data[i]), 'seeded backward');
    // the seed is the caller's: still alive and unchanged
    expect(seed.isDisposed).to.equal(false);
    await expectClose(seed, sv, 'seed after backward');
    // a seed of the wrong shape
    const z = kd.mul(x, 2);
    expect(() => z.backward(kd.ones([4, 3]))).to.throw(/gradient of shape \[4, 3\] does not match tensor of shape \[3, 4\]/);
    // a one-element non-scalar needs no seed
    const one = kd.mul(kd.reshape(kd.sum(x), [1, 1]), 2);
    x.zeroGrad();
    one.backward();
    await expectClose(x.grad!, map(xv, () => 2), 'backward of a [1, 1] tensor');
    // a seeded backward through an op whose rule hands back the seed itself (add)
    const a = up(xv, true);
    const s2 = up(sv);
    kd.add(a, 1).backward(s2);
    await expectClose(a.grad!, sv, 'add with a seed');
    expect(s2.isDisposed).to.equal(false);
    await expectClose(s2, sv, 'seed after an add backward');
  });

  it('backward on a leaf: the gradient is the seed (ones without one)', async () => {
    const x = kd.tensor([[1, 2]], undefined, { requiresGrad: true });
    expect(() => x.backward()).to.throw(/shape \[1, 2\] without a gradient/);
    const s = kd.scalar(5, { requiresGrad: true });
    s.backward();
    expect(await s.grad!.item()).to.equal(1);
    x.backward(kd.tensor([[3, 4]]));
    expect(await x.grad!.array()).to.deep.equal([[3, 4]]);
  });

  it('a second backward through a freed graph throws; retainGraph keeps it and gradients add up', async () => {
    const x = kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const loss = kd.exp(x).sum();
    loss.backward();
    expect(() => loss.backward()).to.throw(/graph through '.*' was already freed by an earlier backward\(\); pass \{retainGraph: true\}/);
    const y = kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const l2 = kd.mul(kd.exp(y), y).sum();
    l2.backward(undefined, { retainGraph: true });
    l2.backward(undefined, { retainGraph: true });
    l2.backward();
    // d/dy (y·eʸ) = eʸ(1 + y), three times
    await expectClose(y.grad!, nd([3], [1, 2, 3].map((v) => 3 * Math.exp(v) * (1 + v))), 'three backward calls');
    expect(() => l2.backward()).to.throw(/already freed/);
  });

  it('only leaves that require grad get .grad; int32 tensors cannot require it', async () => {
    const a = kd.tensor([1, 2], undefined, { requiresGrad: true });
    const b = kd.tensor([3, 4]);
    const c = kd.mul(a, b);
    expect(c.requiresGrad).to.equal(true);
    c.sum().backward();
    expect(b.grad).to.equal(null);
    expect(c.grad).to.equal(null); // non-leaves keep no gradient
    expect(Array.from(await a.grad!.data())).to.deep.equal([3, 4]);
    expect(() => kd.tensor([1, 2], undefined, { dtype: 'int32', requiresGrad: true })).to.throw(/only float32 tensors can require grad, got int32/);
  });

  it('tidy disposes intermediates, keeps returned tensors (also in arrays and objects), keep() and leaf grads', async () => {
    const x = kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const before = live();
    let inner: kd.Tensor[] = [];
    const out = kd.tidy(() => {
      const a = kd.mul(x, 2);
      const b = kd.exp(a);
      const kept = kd.keep(kd.add(b, 1));
      const loss = kd.sum(b);
      loss.backward();
      inner = [a, b];
      return { loss, list: [kept, kd.neg(x)] };
    });
    expect(inner.every((t) => t.isDisposed)).to.equal(true);
    expect(out.loss.isDisposed).to.equal(false);
    expect(out.list.every((t) => !t.isDisposed)).to.equal(true);
    expect(x.grad).to.not.equal(null);
    expect(x.grad!.isDisposed).to.equal(false);
    await expectClose(x.grad!, nd([3], [1, 2, 3].map((v) => 2 * Math.exp(2 * v))), 'leaf grad after tidy');
    expect(await out.loss.item()).to.be.closeTo([1, 2, 3].reduce((s, v) => s + Math.exp(2 * v), 0), 1e-2);
    out.loss.dispose();
    out.list.forEach((t) => t.dispose());
    x.grad!.dispose();
    x.grad = null;
    expect(live()).to.equal(before);
    expect(scopeDepth()).to.equal(0);
  });

  it('nested tidy moves returned tensors to the outer scope; a throwing tidy still disposes', () => {
    let innerResult: kd.Tensor | null = null;
    let innerTemp: kd.Tensor | null = null;
    const outer = kd.tidy(() => {
      innerResult = kd.tidy(() => {
        innerTemp = kd.ones([2]);
        return kd.add(innerTemp, 1);
      });
      expect(innerTemp!.isDisposed).to.equal(true);
      expect(innerResult!.isDisposed).to.equal(false);
      return kd.mul(innerResult!, 2);
    });
    expect(innerResult!.isDisposed).to.equal(true); // an intermediate of the outer scope
    expect(outer.isDisposed).to.equal(false);
    outer.dispose();
    let made: kd.Tensor | null = null;
    expect(() =>
      kd.tidy(() => {
        made = kd.zeros([4]);
        throw new Error('inside tidy');
      }),
    ).to.throw('inside tidy');
    expect(made!.isDisposed).to.equal(true);
    expect(() => kd.tidy(() => Promise.resolve(1) as unknown as number)).to.throw(/tidy: the function must be synchronous/);
    expect(scopeDepth()).to.equal(0);
  });

  it('the tape keeps what backward needs after tidy disposed the intermediates, and frees it after backward', async () => {
    const xv = rnd([4, 5], 6400, 0.5, 2);
    const x = up(xv, true);
    const before = live();
    const loss = kd.tidy(() => kd.log(kd.mul(kd.sqrt(x), kd.tanh(x))).sum());
    const held = live() - before;
    expect(held).to.be.greaterThan(1); // saved tensors of sqrt, tanh, mul, log
    loss.backward();
    // d/dx log(√x·tanh x) = 1/(2x) + (1 − tanh²x)/tanh x
    await expectClose(x.grad!, map(xv, (v) => 1 / (2 * v) + (1 - Math.tanh(v) ** 2) / Math.tanh(v)), 'grad through a tidied graph');
    // after backward only the loss and the new gradient remain
    expect(live() - before).to.equal(2);
    loss.dispose();
    x.grad!.dispose();
    x.grad = null;
    expect(live()).to.equal(before);
  });

  it('disposing the output of an unused graph frees its saved tensors', () => {
    const x = kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const before = live();
    const y = kd.tidy(() => kd.exp(kd.mul(x, x)).sum());
    expect(live()).to.be.greaterThan(before + 1);
    y.dispose();
    expect(live()).to.equal(before);
  });

  it('a disposed leaf gets no gradient (and leaks nothing); the others still do', async () => {
    const a = kd.tensor([1, 2], undefined, { requiresGrad: true });
    const b = kd.tensor([3, 4], undefined, { requiresGrad: true });
    const loss = kd.mul(a, b).sum();
    a.dispose();
    const before = live();
    loss.backward();
    expect(a.grad).to.equal(null);
    expect(Array.from(await b.grad!.data())).to.deep.equal([1, 2]);
    // +1 for b.grad; −1 for a's buffer, which only the tape still held
    expect(live() - before).to.equal(0);
  });

  it('backward computes only the gradients of inputs that require one', () => {
    const count = (f: () => kd.Tensor) => {
      const loss = f();
      const d0 = kd.engine().stats().dispatches;
      loss.backward();
      return kd.engine().stats().dispatches - d0;
    };
    const x = () => kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const c = kd.tensor([4, 5, 6]);
    const both = count(() => kd.mul(x(), x()).sum());
    const one = count(() => kd.mul(x(), c).sum());
    expect(one).to.equal(both - 1);
    const powBoth = count(() => kd.pow(x(), x()).sum());
    const powBase = count(() => kd.pow(x(), c).sum());
    const powExp = count(() => kd.pow(2, x()).sum());
    expect(powBase).to.equal(powBoth - 1);
    expect(powExp).to.equal(powBoth - 1);
  });

  it('a training-style loop holds memory constant', async () => {
    const w = kd.tensor(Float32Array.from(rnd([13], 6500).data), [13], { requiresGrad: true });
    const x = up(rnd([7, 13], 6501));
    const step = () => {
      const loss = kd.tidy(() => kd.mean(kd.pow(kd.relu(kd.mul(x, w)), 2)));
      loss.backward();
      loss.dispose();
      w.zeroGrad();
    };
    step();
    await kd.engine().sync();
    const before = live();
    for (let i = 0; i < 20; i++) step();
    await kd.engine().sync();
    expect(live()).to.equal(before);
  });
});
