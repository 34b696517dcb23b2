/**
 * Bad input: every misuse throws an Error that names the op and the shapes involved, allocates
 * nothing, and leaves the engine working.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

/** Runs fn, expecting an Error whose message starts with "kdgpu: <op>" and contains every fragment. */
function expectError(fn: () => unknown, op: string, ...fragments: string[]): Error {
  let caught: unknown = null;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, `${op}: expected an error`).to.be.instanceOf(Error);
  const msg = (caught as Error).message;
  expect(msg, 'names the op').to.match(new RegExp(`^kdgpu: ${op}\\b`));
  for (const f of fragments) expect(msg, `mentions ${f}`).to.include(f);
  return caught as Error;
}

/** The engine still computes correctly and has no pending GPU error. */
async function stillWorks(): Promise<void> {
  const y = kd.add(kd.tensor([1, 2, 3]), kd.tensor([10]));
  expect(Array.from(await y.data())).to.deep.equal([11, 12, 13]);
  y.dispose();
  await kd.engine().sync();
}

describe('errors on bad input', () => {
  before(setup);

  it('broadcasting [3] against [4] names the op and both shapes, for every binary op and broadcastTo', async () => {
    const a = kd.tensor([1, 2, 3]);
    const b = kd.tensor([1, 2, 3, 4]);
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'] as const) {
      expectError(() => kd[op](a, b), op, '[3]', '[4]', 'cannot be broadcast');
    }
    expectError(() => a.add(b), 'add', '[3]', '[4]');
    const m = kd.zeros([2, 3]);
    const n = kd.zeros([3, 2]);
    expectError(() => kd.mul(m, n), 'mul', '[2, 3]', '[3, 2]');
    expectError(() => kd.broadcastTo(a, [4]), 'broadcastTo', '[3]', '[4]');
    expectError(() => kd.broadcastTo(m, [3]), 'broadcastTo', '[2, 3]', '[3]');
    await stillWorks();
  });

  it('wrong dtypes: int32 into float ops names the op, the dtype and the shape', async () => {
    const i = kd.tensor([1, 2], undefined, { dtype: 'int32' });
    const f = kd.tensor([1, 2]);
    for (const op of ['neg', 'exp', 'log', 'sqrt', 'relu', 'sigmoid', 'tanh', 'abs'] as const) {
      expectError(() => kd[op](i), op, 'float32', 'int32', '[2]');
    }
    for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow'] as const) {
      expectError(() => kd[op](i, f), op, 'int32 [2]', 'float32 [2]');
      expectError(() => kd[op](f, i), op, 'int32 [2]', 'float32 [2]');
    }
    expectError(() => kd.add(i, 1), 'add', 'int32', '[2]');
    expectError(() => kd.mul(2, i), 'mul', 'int32', '[2]');
    for (const op of ['sum', 'mean', 'max', 'min', 'argmax', 'argmin'] as const) {
      expectError(() => kd[op](i), op, 'float32', 'int32', '[2]');
    }
    expectError(() => kd.concat([f, i]), 'concat', 'float32', 'int32', '[2], [2]');
    await stillWorks();
  });

  it('a disposed tensor: the message names the op and the shape, for every op', async () => {
    const x = kd.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const other = kd.tensor([1, 2, 3]);
    x.dispose();
    expect(x.isDisposed).to.equal(true);
    x.dispose(); // idempotent
    const cases: [string, () => unknown][] = [
      ['neg', () => kd.neg(x)],
      ['exp', () => kd.exp(x)],
      ['log', () => x.log()],
      ['sqrt', () => kd.sqrt(x)],
      ['relu', () => kd.relu(x)],
      ['sigmoid', () => kd.sigmoid(x)],
      ['tanh', () => kd.tanh(x)],
      ['abs', () => kd.abs(x)],
      ['add', () => kd.add(x, other)],
      ['add', () => kd.add(other, x)],
      ['sub', () => kd.sub(x, 1)],
      ['sub', () => kd.sub(1, x)],
      ['mul', () => kd.mul(x, 2)],
      ['div', () => kd.div(2, x)],
      ['maximum', () => kd.maximum(x, 0)],
      ['minimum', () => kd.minimum(x, other)],
      ['pow', () => kd.pow(x, 2)],
      ['pow', () => kd.pow(2, x)],
      ['sum', () => kd.sum(x)],
      ['mean', () => kd.mean(x, 0)],
      ['max', () => kd.max(x)],
      ['min', () => kd.min(x, 1)],
      ['argmax', () => kd.argmax(x)],
      ['argmin', () => kd.argmin(x, 0)],
      ['reshape', () => kd.reshape(x, [3, 2])],
      ['flatten', () => kd.flatten(x)],
      ['permute', () => kd.permute(x, [1, 0])],
      ['transpose', () => kd.transpose(x)],
      ['slice', () => kd.slice(x, [[0, 1]])],
      ['concat', () => kd.concat([other.reshape([1, 3]), x])],
      ['broadcastTo', () => kd.broadcastTo(x, [4, 2, 3])],
      ['clone', () => kd.clone(x)],
      ['cast', () => kd.cast(x, 'int32')],
      ['backward', () => x.backward()],
    ];
    for (const [op, fn] of cases) expectError(fn, op, 'shape [2, 3]', 'disposed');
    let readError: unknown = null;
    await x.data().catch((e: unknown) => (readError = e));
    expect((readError as Error).message).to.match(/^kdgpu: data: .*shape \[2, 3\].*disposed/);
    await stillWorks();
  });

  it('using a graph whose gradient seed was disposed', async () => {
    const x = kd.tensor([1, 2], undefined, { requiresGrad: true });
    const y = kd.mul(x, 3);
    const seed = kd.ones([2]);
    seed.dispose();
    expectError(() => y.backward(seed), 'backward', 'shape [2]', 'disposed');
    y.backward(kd.ones([2]));
    expect(Array.from(await x.grad!.data())).to.deep.equal([3, 3]);
  });

  it('reductions over an empty set are rejected (sum of nothing is 0)', async () => {
    const e = kd.zeros([0, 3]);
    for (const op of ['mean', 'max', 'min'] as const) {
      expectError(() => kd[op](e), op, 'empty set', '[0, 3]');
      expectError(() => kd[op](e, 0), op, 'empty set', '[0, 3]', 'axes [0]');
    }
    for (const op of ['argmax', 'argmin'] as const) {
      expectError(() => kd[op](e), op, 'empty set', '[0, 3]');
      expectError(() => kd[op](e, 0), op, 'empty set', '[0, 3]');
    }
    expectError(() => kd.mean(kd.zeros([0])), 'mean', 'empty set', '[0]');
    expect(await kd.sum(e).item()).to.equal(0);
    await stillWorks();
  });

  it('axes out of range or repeated name the op and the shape', async () => {
    const x = kd.zeros([2, 3]);
    expectError(() => kd.sum(x, 2), 'sum', 'axis 2', '[2, 3]');
    expectError(() => kd.mean(x, -3), 'mean', 'axis -3', '[2, 3]');
    expectError(() => kd.max(x, [0, 0]), 'max', 'repeated axis', '[2, 3]');
    expectError(() => kd.argmax(x, 5), 'argmax', 'axis 5', '[2, 3]');
    expectError(() => kd.sum(kd.scalar(1), 1), 'sum', 'axis 1', 'rank 0');
    expectError(() => kd.transpose(x, 0, 2), 'transpose', 'axis 2', '[2, 3]');
    expectError(() => kd.flatten(x, 3), 'flatten', 'axis 3', '[2, 3]');
    expectError(() => kd.flatten(kd.zeros([2, 3, 4]), 2, 1), 'flatten', 'startDim 2 comes after endDim 1', '[2, 3, 4]');
    expectError(() => kd.sumTo(x, [4]), 'sumTo', '[4]', '[2, 3]');
    expectError(() => kd.sumTo(x, [1, 2, 3]), 'sumTo', '[1, 2, 3]', '[2, 3]');
    await stillWorks();
  });

  it('bad reshape', async () => {
    const x = kd.zeros([2, 3]);
    expectError(() => kd.reshape(x, [4]), 'reshape', '[2, 3]', '[4]', '6 elements');
    expectError(() => kd.reshape(x, [-1, -1]), 'reshape', '[2, 3]', '[-1, -1]', 'only one dimension may be -1');
    expectError(() => kd.reshape(x, [4, -1]), 'reshape', '[2, 3]', '[4, -1]');
    expectError(() => kd.reshape(x, [0, -1]), 'reshape', '[2, 3]', '[0, -1]');
    expectError(() => kd.reshape(x, [-2, -3]), 'reshape', '[2, 3]', '[-2, -3]', 'non-negative');
    expectError(() => kd.reshape(x, [1.5, 4]), 'reshape', '[2, 3]', '[1.5, 4]');
    expectError(() => kd.reshape(x, [1, 1, 1, 1, 1, 1, 2, 3, 1]), 'reshape', 'exceeds the maximum rank 8');
    await stillWorks();
  });

  it('bad permutation', async () => {
    const x = kd.zeros([2, 3, 4]);
    expectError(() => kd.permute(x, [0, 1]), 'permute', '[0, 1]', '[2, 3, 4]');
    expectError(() => kd.permute(x, [0, 0, 1]), 'permute', '[0, 0, 1]', 'not a permutation', '[2, 3, 4]');
    expectError(() => kd.permute(x, [0, 1, 3]), 'permute', 'axis 3', '[2, 3, 4]');
    expectError(() => kd.permute(x, [0, 1, 2, 3]), 'permute', '[2, 3, 4]');
    await stillWorks();
  });

  it('bad slices', async () => {
    const x = kd.zeros([2, 3]);
    expectError(() => kd.slice(x, [0, 0, 0]), 'slice', '3 ranges', '[2, 3]');
    expectError(() => kd.slice(x, [5]), 'slice', 'index 5', '[2, 3]');
    expectError(() => kd.slice(x, [null, -4]), 'slice', 'index -4', '[2, 3]');
    expectError(() => kd.slice(x, [[0.5, 1]]), 'slice', '[2, 3]', 'integers');
    await stillWorks();
  });

  it('concat mismatches', async () => {
    const a = kd.zeros([2, 3]);
    expectError(() => kd.concat([a, kd.zeros([2, 4])], 0), 'concat', '[2, 3], [2, 4]', 'differ outside axis 0');
    expectError(() => kd.concat([a, kd.zeros([3])], 0), 'concat', '[2, 3], [3]');
    expectError(() => kd.concat([a, kd.zeros([2, 3, 1])], 1), 'concat', '[2, 3], [2, 3, 1]');
    expectError(() => kd.concat([a, a], 2), 'concat', 'axis 2', '[2, 3], [2, 3]');
    expectError(() => kd.concat([kd.scalar(1), kd.scalar(2)]), 'concat', 'rank-0', '[], []');
    expectError(() => kd.concat([]), 'concat', 'at least one tensor');
    await stillWorks();
  });

  it('ragged nested arrays and mismatched data', async () => {
    expectError(() => kd.tensor([[1, 2], [3]]), 'tensor', 'ragged', '[2, 2]');
    expectError(() => kd.tensor([[1, 2], 3] as unknown as number[][]), 'tensor', 'ragged', '[2, 2]');
    expectError(() => kd.tensor([1, [2]] as unknown as number[]), 'tensor', 'ragged', '[2]');
    expectError(() => kd.tensor([[[1], [2]], [[3]]]), 'tensor', 'ragged', '[2, 2, 1]');
    expectError(() => kd.tensor([1, 2, 3], [2, 2]), 'tensor', '3 values', '[2, 2]');
    expectError(() => kd.tensor([1.5], undefined, { dtype: 'int32' }), 'tensor', 'non-integer value 1.5');
    expectError(() => kd.zeros([2, -1]), 'full', '[2, -1]');
    let itemError: unknown = null;
    await kd
      .tensor([1, 2])
      .item()
      .catch((e: unknown) => (itemError = e));
    expect((itemError as Error).message).to.match(/^kdgpu: item: tensor of shape \[2\] has 2 elements/);
    await stillWorks();
  });

  it('failed calls allocate nothing and record nothing', async () => {
    const a = kd.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const b = kd.tensor([1, 2, 3, 4]);
    const empty = kd.zeros([0]);
    const before = kd.engine().memory().liveBuffers;
    for (let k = 0; k < 5; k++) {
      expect(() => kd.add(a, b)).to.throw();
      expect(() => kd.concat([a, b.reshape([2, 2])])).to.throw();
      expect(() => kd.reshape(a, [2, 2])).to.throw();
      expect(() => kd.permute(a, [1])).to.throw();
      expect(() => kd.mean(empty)).to.throw();
      expect(() => kd.exp(kd.cast(b, 'int32'))).to.throw();
    }
    await kd.engine().sync();
    // nothing but the five int32 casts made above
    expect(kd.engine().memory().liveBuffers - before).to.equal(5);
    const y = kd.mul(a, 2).sum();
    y.backward();
    expect(Array.from(await a.grad!.data())).to.deep.equal([2, 2, 2]);
  });
});
