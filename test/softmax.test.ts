import { expect } from 'chai';
import * as kd from '../src/index.js';
import { loadFixture, type Fixture } from './fixtures.js';
import { assertClose, setup, expectThrow } from './helpers.js';

interface SoftmaxCase {
  name: string;
  shape: number[];
  axis: number;
}

interface CeCase {
  name: string;
  kind: 'labels' | 'probs';
  T: number;
  N: number;
  C: number;
  reduction: 'mean' | 'sum' | 'none';
  extreme?: boolean;
  targetGrad?: boolean;
}

interface KlCase {
  name: string;
  shape: number[];
  reduction: 'batchmean' | 'sum' | 'mean' | 'none';
  logTarget?: boolean;
  targetGrad?: boolean;
}

const CE_TOL = { rtol: 1e-5, atol: 1e-7 };

function fromFixture(fx: Fixture, name: string, opts: kd.TensorOptions = {}): kd.Tensor {
  const t = fx.get(name);
  return kd.tensor(t.data, t.shape, opts);
}

function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

describe('softmax and logSoftmax', () => {
  before(setup);
  const fx = loadFixture('softmax.safetensors');
  for (const c of JSON.parse(fx.meta.cases) as SoftmaxCase[]) {
    for (const op of ['softmax', 'logSoftmax'] as const) {
      it(`${op} ${c.name} ${JSON.stringify(c.shape)} axis ${c.axis} matches PyTorch forward and backward`, async () => {
        const x = fromFixture(fx, `${c.name}.x`, { requiresGrad: true });
        const y = op === 'softmax' ? kd.softmax(x, c.axis) : kd.logSoftmax(x, c.axis);
        assertClose(await y.data(), fx.get(`${c.name}.${op}.y`).data, {}, `${op} forward`);
        const gy = fromFixture(fx, `${c.name}.${op}.gy`);
        y.backward(gy);
        assertClose(await x.grad!.data(), fx.get(`${c.name}.${op}.gx`).data, { rtol: 1e-5, atol: 1e-6 }, `${op} backward`);
        for (const t of [x, y, gy]) t.dispose();
      });
    }
  }

  it('defaults to the last axis and stays finite for logits of ±1e4', async () => {
    const x = kd.tensor([[1e4, -1e4, 0], [-1e4, -1e4, -1e4]]);
    const y = kd.softmax(x);
    assertClose(await y.data(), [1, 0, 0, 1 / 3, 1 / 3, 1 / 3]);
    expect(Array.from(await x.softmax().data())).to.deep.equal(Array.from(await y.data()));
    const l = await x.logSoftmax(-1).data();
    expect(allFinite(l)).to.equal(true);
    assertClose(l, [0, -2e4, -1e4, -Math.log(3), -Math.log(3), -Math.log(3)]);
  });

  it('rejects scalars, int32 and bad axes', () => {
    expectThrow(() => kd.softmax(kd.scalar(1)), 'softmax', 'rank ≥ 1');
    expectThrow(() => kd.logSoftmax(kd.zeros([2, 3], { dtype: 'int32' })), 'logSoftmax', 'float32', 'int32', '[2, 3]');
    expectThrow(() => kd.softmax(kd.zeros([2, 3]), 2), 'softmax', 'axis 2', 'rank 2');
  });
});

describe('softmaxCrossEntropy (fused)', () => {
  before(setup);
  const fx = loadFixture('softmax_ce.safetensors');

  for (const c of JSON.parse(fx.meta.cases) as CeCase[]) {
    it(`${c.name} matches PyTorch loss and gradient (rtol 1e-5, atol 1e-7)`, async () => {
      const z = fromFixture(fx, `${c.name}.logits`, { requiresGrad: true });
      const target = fromFixture(fx, `${c.name}.target`, { requiresGrad: c.targetGrad });
      const loss = kd.softmaxCrossEntropy(z, target, { temperature: c.T, reduction: c.reduction });
      expect(loss.shape).to.deep.equal(c.reduction === 'none' ? [c.N] : []);
      const lossV = await loss.data();
      assertClose(lossV, fx.get(`${c.name}.loss`).data, CE_TOL, 'loss');
      const gy = fromFixture(fx, `${c.name}.gy`);
      loss.backward(gy);
      const gz = await z.grad!.data();
      assertClose(gz, fx.get(`${c.name}.gLogits`).data, CE_TOL, 'd loss / d logits');
      if (c.extreme) expect(allFinite(lossV) && allFinite(gz), 'finite loss and gradient').to.equal(true);
      if (c.targetGrad) assertClose(await target.grad!.data(), fx.get(`${c.name}.gTarget`).data, CE_TOL, 'd loss / d target');
      for (const t of [z, target, loss, gy]) t.dispose();
    });
  }

  for (const kind of ['labels', 'probs'] as const) {
    for (const reduction of ['mean', 'sum', 'none'] as const) {
      it(`${kind}, ${reduction}: exactly one dispatch forward and one backward`, async () => {
        const N = 37;
        const C = 10;
        const z = kd.randn([N, C], { seed: 5, requiresGrad: true });
        const target =
          kind === 'labels'
            ? kd.tensor(Int32Array.from({ length: N }, (_, i) => (i * 7) % C))
            : kd.softmax(kd.randn([N, C], { seed: 6 }));
        const gy = reduction === 'none' ? kd.ones([N]) : kd.scalar(1);
        const e = kd.engine();
        const d0 = e.stats().dispatches;
        const loss = kd.softmaxCrossEntropy(z, target, { temperature: 4, reduction });
        const d1 = e.stats().dispatches;
        loss.backward(gy);
        const d2 = e.stats().dispatches;
        expect(d1 - d0, 'forward dispatches').to.equal(1);
        expect(d2 - d1, 'backward dispatches').to.equal(1);
        expect(allFinite(await z.grad!.data())).to.equal(true);
        for (const t of [z, target, gy, loss]) t.dispose();
      });
    }
  }

  it('logits of ±1e4 give a finite loss and gradient at T = 1, 4, 20', async () => {
    const N = 64;
    const C = 20;
    const vals = Float32Array.from({ length: N * C }, (_, i) => ((i * 2654435761) >>> 0) % 3 === 0 ? 1e4 : -1e4);
    for (const T of [1, 4, 20]) {
      for (const soft of [false, true]) {
        const z = kd.tensor(vals, [N, C], { requiresGrad: true });
        const target = soft ? kd.full([N, C], 1 / C) : Int32Array.from({ length: N }, (_, i) => i % C);
        const loss = kd.softmaxCrossEntropy(z, target, { temperature: T });
        loss.backward();
        const lv = await loss.item();
        expect(Number.isFinite(lv), `loss at T=${T}`).to.equal(true);
        expect(lv).to.be.greaterThan(0);
        expect(allFinite(await z.grad!.data()), `gradient at T=${T}`).to.equal(true);
        z.dispose();
        loss.dispose();
        if (target instanceof kd.Tensor) target.dispose();
      }
    }
  });

  it('host labels (Int32Array or number[]) equal int32 tensor labels', async () => {
    const z = kd.randn([5, 4], { seed: 9 });
    const labels = [3, 0, 1, 1, 2];
    const a = await kd.softmaxCrossEntropy(z, labels, { reduction: 'none' }).data();
    const b = await kd.softmaxCrossEntropy(z, Int32Array.from(labels), { reduction: 'none' }).data();
    const c = await kd.softmaxCrossEntropy(z, kd.tensor(Int32Array.from(labels)), { reduction: 'none' }).data();
    expect(Array.from(a)).to.deep.equal(Array.from(c));
    expect(Array.from(b)).to.deep.equal(Array.from(c));
  });

  it('labels out of range from the CPU throw at once, naming the op, shapes, row and range', () => {
    const z = kd.zeros([4, 10]);
    expectThrow(() => kd.softmaxCrossEntropy(z, [1, 2, 10, 3]), 'softmaxCrossEntropy', 'label 10 at row 2', '[4, 10]', '[0, 10)');
    expectThrow(() => kd.softmaxCrossEntropy(z, Int32Array.from([1, -1, 0, 0])), 'softmaxCrossEntropy', 'label -1 at row 1');
    expectThrow(() => kd.softmaxCrossEntropy(z, [1, 2, 2.5, 3]), 'softmaxCrossEntropy', 'label 2.5', 'integer');
    z.dispose();
  });

  it('labels out of range in an int32 tensor are caught by the kernel and thrown at the next readback', async () => {
    const z = kd.zeros([4, 10], { requiresGrad: true });
    const labels = kd.tensor(Int32Array.from([1, 12, 3, -2]));
    const loss = kd.softmaxCrossEntropy(z, labels, { reduction: 'none' });
    let msg = '';
    try {
      await loss.data();
    } catch (e) {
      msg = (e as Error).message;
    }
    for (const part of ['softmaxCrossEntropy', 'out of range for logits [4, 10], labels [4]', '[0, 10)', '2 bad labels']) {
      expect(msg).to.contain(part);
    }
    expect(msg).to.match(/label (12 at row 1|-2 at row 3) /); // the first invocation to find one reports it
    // the error is reported once; the bad rows are NaN, the good ones are not
    const v = await loss.data();
    expect([Number.isNaN(v[0]), Number.isNaN(v[1]), Number.isNaN(v[2]), Number.isNaN(v[3])]).to.deep.equal([false, true, false, true]);
    // valid labels in a tensor report nothing
    const ok = kd.softmaxCrossEntropy(z, kd.tensor(Int32Array.from([0, 9, 3, 4])));
    expect(Number.isFinite(await ok.item())).to.equal(true);
    for (const t of [z, labels, loss, ok]) t.dispose();
  });

  it('the label check costs no submission, mapAsync or buffer; it rides along with readbacks', async () => {
    const e = kd.engine();
    const z = kd.randn([16, 10], { seed: 2, requiresGrad: true });
    const labels = kd.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 10));
    const bad = kd.tensor(Int32Array.from({ length: 16 }, (_, i) => (i === 5 ? 10 : 0)));
    kd.softmaxCrossEntropy(z, labels).dispose(); // warm-up: pipelines, the check record
    await e.sync();
    const s0 = e.stats();
    for (let step = 0; step < 5; step++) {
      const loss = kd.softmaxCrossEntropy(z, labels);
      loss.backward();
      z.zeroGrad();
      loss.dispose();
    }
    e.flush();
    const s1 = e.stats();
    expect(s1.mapAsyncCalls - s0.mapAsyncCalls).to.equal(0);
    expect(s1.submissions - s0.submissions).to.equal(1);
    // a bad label several steps before a readback is still reported by it, once
    kd.softmaxCrossEntropy(z, bad).dispose();
    const later = kd.softmaxCrossEntropy(z, labels);
    let msg = '';
    try {
      await later.item();
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).to.contain('label 10 at row 5').and.contain('1 bad label since');
    expect(Number.isFinite(await later.item())).to.equal(true);
    expect(e.stats().mapAsyncCalls - s1.mapAsyncCalls).to.equal(2); // just the two readbacks
    for (const t of [z, labels, bad, later]) t.dispose();
  });

  it('bad targets and logits: errors name the op, the shapes and what was expected', () => {
    const z = kd.zeros([4, 10]);
    expectThrow(() => kd.softmaxCrossEntropy(z, kd.tensor(Int32Array.from([1, 2, 3]))), 'softmaxCrossEntropy', 'labels of shape [3]', 'logits [4, 10]', 'int32 labels [4]');
    expectThrow(() => kd.softmaxCrossEntropy(z, [1, 2, 3]), 'softmaxCrossEntropy', '3 labels', '[4, 10]', 'expected 4 labels');
    expectThrow(() => kd.softmaxCrossEntropy(z, kd.tensor([1, 2, 3, 4])), 'softmaxCrossEntropy', 'int32', 'float32 of shape [4]', 'soft targets of shape [4, 10]');
    expectThrow(() => kd.softmaxCrossEntropy(z, kd.zeros([4, 9])), 'softmaxCrossEntropy', 'soft targets of shape [4, 9]', 'logits [4, 10]', 'float32 [4, 10]');
    expectThrow(() => kd.softmaxCrossEntropy(z, kd.zeros([4, 10], { dtype: 'int32' })), 'softmaxCrossEntropy', 'soft targets must be float32', 'int32');
    expectThrow(() => kd.softmaxCrossEntropy(z, kd.zeros([4, 10, 1])), 'softmaxCrossEntropy', 'target of shape [4, 10, 1]', 'int32 labels [4] or float32 soft targets [4, 10]');
    expectThrow(() => kd.softmaxCrossEntropy(kd.zeros([4, 10, 2]), [0, 0, 0, 0]), 'softmaxCrossEntropy', 'logits must be 2-D [N, C]', '[4, 10, 2]');
    expectThrow(() => kd.softmaxCrossEntropy(z, [0, 0, 0, 0], { temperature: 0 }), 'softmaxCrossEntropy', 'temperature', '> 0');
    expectThrow(() => kd.softmaxCrossEntropy(z, [0, 0, 0, 0], { reduction: 'avg' as 'mean' }), 'softmaxCrossEntropy', "'avg'");
    z.dispose();
  });
});

describe('klDiv', () => {
  before(setup);
  const fx = loadFixture('softmax_ce.safetensors');
  for (const c of JSON.parse(fx.meta.kl_cases) as KlCase[]) {
    it(`${c.name} (${c.reduction}${c.logTarget ? ', logTarget' : ''}) matches torch.nn.functional.kl_div and its gradient`, async () => {
      const n = `kl_${c.name}`;
      const input = fromFixture(fx, `${n}.input`, { requiresGrad: true });
      const target = fromFixture(fx, `${n}.target`, { requiresGrad: c.targetGrad });
      const loss = kd.klDiv(input, target, { reduction: c.reduction, logTarget: c.logTarget });
      assertClose(await loss.data(), fx.get(`${n}.loss`).data, { rtol: 1e-5, atol: 1e-7 }, 'loss');
      const gy = fromFixture(fx, `${n}.gy`);
      loss.backward(gy);
      assertClose(await input.grad!.data(), fx.get(`${n}.gInput`).data, { rtol: 1e-5, atol: 1e-7 }, 'd loss / d input');
      if (c.targetGrad) assertClose(await target.grad!.data(), fx.get(`${n}.gTarget`).data, { rtol: 1e-5, atol: 1e-7 }, 'd loss / d target');
      for (const t of [input, target, loss, gy]) t.dispose();
    });
  }

  it('rejects mismatched shapes and bad reductions', () => {
    expectThrow(() => kd.klDiv(kd.zeros([2, 3]), kd.zeros([2, 4])), 'klDiv', 'input [2, 3]', 'target [2, 4]', 'same shape');
    expectThrow(() => kd.klDiv(kd.zeros([2, 3]), kd.zeros([2, 3]), { reduction: 'avg' as 'mean' }), 'klDiv', "'avg'");
  });
});
