/**
 * Keras HDF5 weight files: both layouts load into kdgpu models and give the logits of a float64
 * Keras-semantics forward (test/fixtures/make_keras_h5_fixtures.py); each layout conversion is
 * checked against float64 reference convolutions / dense layers in both layouts; damaged files
 * fail with errors that name the file and the problem.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as kd from '../src/index.js';
import { readWeightsFile } from '../src/index.js';
import {
  applyKerasH5,
  convKernelToOIHW,
  denseKernelToLinear,
  depthwiseKernelToOIHW,
  planKerasLoad,
  readKerasH5,
  type KerasH5File,
  type KerasTarget,
  type KerasWeight,
} from '../src/nn/keras-h5.js';
import { loadKerasH5File, readKerasH5File } from '../src/nn/node-keras-h5.js';
import { loadFixture } from './fixtures.js';
import { assertClose, expectThrow, randomValues, setup } from './helpers.js';

const { nn } = kd;
const fixture = (name: string) => join('test', 'fixtures', name);
const bytesOf = (name: string) => new Uint8Array(readFileSync(fixture(name)));

/** The kdgpu twin of the fixture script's tiny Keras model (input [2, 5, 6]). */
const tinyModel = () => new nn.Sequential(new nn.Conv2d(2, 3, [3, 2]), new nn.ReLU(), new nn.Flatten(), new nn.Linear(45, 4), new nn.ReLU(), new nn.Linear(4, 3));
const TINY_INPUT = [2, 5, 6];

async function logitsOf(model: kd.nn.Module, x: { data: Float32Array | Int32Array; shape: number[] }): Promise<Float32Array> {
  model.eval();
  const input = kd.tensor(x.data, x.shape);
  const out = kd.noGrad(() => model.call(input));
  const data = (await out.data()) as Float32Array;
  input.dispose();
  out.dispose();
  return data;
}

// ---- float64 references in both layouts --------------------------------------------------------

/** Keras Conv2D, 'valid', stride 1: x NHWC, kernel [KH, KW, C, O] → NHWC. */
function kerasConv(x: ArrayLike<number>, [n, h, w, c]: number[], k: ArrayLike<number>, [kh, kw, , o]: number[]): Float64Array {
  const oh = h - kh + 1;
  const ow = w - kw + 1;
  const out = new Float64Array(n * oh * ow * o);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let q = 0; q < o; q++) {
          let s = 0;
          for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) for (let ci = 0; ci < c; ci++) s += x[((b * h + i + a) * w + j + e) * c + ci] * k[((a * kw + e) * c + ci) * o + q];
          out[((b * oh + i) * ow + j) * o + q] = s;
        }
  return out;
}

/** Keras DepthwiseConv2D, 'valid': x NHWC, kernel [KH, KW, C, M] → NHWC with channel c·M + m (TensorFlow's order). */
function kerasDepthwise(x: ArrayLike<number>, [n, h, w, c]: number[], k: ArrayLike<number>, [kh, kw, , m]: number[]): Float64Array {
  const oh = h - kh + 1;
  const ow = w - kw + 1;
  const out = new Float64Array(n * oh * ow * c * m);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let ci = 0; ci < c; ci++)
          for (let q = 0; q < m; q++) {
            let s = 0;
            for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) s += x[((b * h + i + a) * w + j + e) * c + ci] * k[((a * kw + e) * c + ci) * m + q];
            out[((b * oh + i) * ow + j) * (c * m) + ci * m + q] = s;
          }
  return out;
}

/** PyTorch conv2d, 'valid', stride 1, `groups`: x NCHW, weight [O, C/groups, KH, KW] → NCHW. */
function torchConv(x: ArrayLike<number>, [n, c, h, w]: number[], wt: ArrayLike<number>, [o, cg, kh, kw]: number[], groups = 1): Float64Array {
  const oh = h - kh + 1;
  const ow = w - kw + 1;
  const og = o / groups;
  expect(cg * groups).to.equal(c);
  const out = new Float64Array(n * o * oh * ow);
  for (let b = 0; b < n; b++)
    for (let q = 0; q < o; q++) {
      const g = Math.floor(q / og);
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = 0;
          for (let ci = 0; ci < cg; ci++)
            for (let a = 0; a < kh; a++) for (let e = 0; e < kw; e++) s += x[((b * c + g * cg + ci) * h + i + a) * w + j + e] * wt[((q * cg + ci) * kh + a) * kw + e];
          out[((b * o + q) * oh + i) * ow + j] = s;
        }
    }
  return out;
}

function nhwcToNchw(x: ArrayLike<number>, [n, h, w, c]: number[]): Float64Array {
  const out = new Float64Array(n * c * h * w);
  for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let ci = 0; ci < c; ci++) out[((b * c + ci) * h + i) * w + j] = x[((b * h + i) * w + j) * c + ci];
  return out;
}

/** rows [n, nin] · kernel [nin, nout] (Keras's Dense). */
function kerasDense(x: ArrayLike<number>, n: number, k: ArrayLike<number>, [nin, nout]: number[]): Float64Array {
  const out = new Float64Array(n * nout);
  for (let b = 0; b < n; b++) for (let o = 0; o < nout; o++) for (let i = 0; i < nin; i++) out[b * nout + o] += x[b * nin + i] * k[i * nout + o];
  return out;
}

/** rows [n, nin] · weightᵀ, weight [nout, nin] (PyTorch's Linear). */
function torchLinear(x: ArrayLike<number>, n: number, wt: ArrayLike<number>, [nout, nin]: number[]): Float64Array {
  const out = new Float64Array(n * nout);
  for (let b = 0; b < n; b++) for (let o = 0; o < nout; o++) for (let i = 0; i < nin; i++) out[b * nout + o] += x[b * nin + i] * wt[o * nin + i];
  return out;
}

const TIGHT = { rtol: 1e-12, atol: 1e-12 };

// ---- tests -------------------------------------------------------------------------------------

describe('Keras HDF5 weight files', function () {
  this.timeout(300_000);
  before(setup);
  const logits = loadFixture('keras_h5_logits.safetensors');

  describe('reading', () => {
    it('lists the layers and weights of a model.save file (model_weights + model_config)', () => {
      const f = readKerasH5File(fixture('keras_mnist_cnn_teacher.h5'));
      expect(f.layout).to.equal('model');
      expect(f.kerasVersion).to.equal('2.13.1');
      expect(f.backend).to.equal('tensorflow');
      expect((f.modelConfig as { class_name: string }).class_name).to.equal('Sequential');
      expect(f.layers.map((l) => l.name)).to.deep.equal(['conv2d', 'max_pooling2d', 'conv2d_1', 'max_pooling2d_1', 'flatten', 'dropout', 'dense', 'dropout_1', 'dense_1']);
      expect(f.layers.map((l) => l.className)).to.deep.equal(['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dropout', 'Dense', 'Dropout', 'Dense']);
      const dense = f.layers[6];
      expect(dense.weights.map((w) => [w.path, w.name, w.shape, w.dtype])).to.deep.equal([
        ['dense/kernel:0', 'kernel', [7744, 128], 'float32'],
        ['dense/bias:0', 'bias', [128], 'float32'],
      ]);
      expect(f.layers[1].weights).to.deep.equal([]);
      expect(f.layers.reduce((s, l) => s + l.weights.reduce((t, w) => t + w.data.length, 0), 0)).to.equal(1_011_466);
    });

    it('reads the save_weights layout (attributes on the root group)', () => {
      const f = readKerasH5(bytesOf('keras_mnist_cnn_small.h5'), 'small.h5');
      expect(f.layout).to.equal('weights');
      expect(f.modelConfig).to.equal(undefined);
      expect(f.layers.filter((l) => l.weights.length).map((l) => l.weights.map((w) => w.shape))).to.deep.equal([
        [[3, 3, 1, 32], [32]],
        [[3, 3, 32, 64], [64]],
        [[1600, 128], [128]],
        [[128, 10], [10]],
      ]);
    });

    it("reads Keras 3 names without ':0' and chunked layer_names0/1/2 attributes alike", () => {
      const k3 = readKerasH5(bytesOf('keras_tiny.h5'), 'tiny.h5');
      expect(k3.kerasVersion).to.equal('3.3.3');
      expect(k3.layers[0].weights.map((w) => [w.path, w.name])).to.deep.equal([
        ['sequential/conv2d/kernel', 'kernel'],
        ['sequential/conv2d/bias', 'bias'],
      ]);
      const chunked = readKerasH5(bytesOf('keras_tiny_chunked.h5'), 'chunked.h5');
      expect(chunked.layers.map((l) => l.name)).to.deep.equal(k3.layers.map((l) => l.name));
      chunked.layers.forEach((l, i) => {
        expect(l.weights.map((w) => w.name)).to.deep.equal(k3.layers[i].weights.map((w) => w.name));
        l.weights.forEach((w, j) => expect([...w.data]).to.deep.equal([...k3.layers[i].weights[j].data]));
      });
    });
  });

  describe('loading gives the Keras model\'s logits', () => {
    it('mnist-cnn-teacher from model.save (Dense after Flatten reordered from NHWC)', async () => {
      const model = nn.buildModel('mnist-cnn-teacher');
      loadKerasH5File(model, fixture('keras_mnist_cnn_teacher.h5'), { inputShape: nn.MODELS['mnist-cnn-teacher'].inputShape });
      assertClose(await logitsOf(model, logits.get('mnist.x')), logits.get('teacher.logits').data, {}, 'teacher logits');
      model.dispose();
    });

    it('mnist-cnn-small from save_weights', async () => {
      const model = nn.buildModel('mnist-cnn-small');
      loadKerasH5File(model, fixture('keras_mnist_cnn_small.h5'), { inputShape: [1, 28, 28] });
      assertClose(await logitsOf(model, logits.get('mnist.x')), logits.get('small.logits').data, {}, 'small logits');
      model.dispose();
    });

    it('a 2-channel non-square input, a 3×2 kernel and a 3×3×5 flatten (Keras 3 names; chunked attributes)', async () => {
      for (const file of ['keras_tiny.h5', 'keras_tiny_chunked.h5']) {
        const model = tinyModel();
        loadKerasH5File(model, fixture(file), { inputShape: TINY_INPUT });
        assertClose(await logitsOf(model, logits.get('tiny.x')), logits.get('tiny.logits').data, {}, `${file} logits`);
        model.dispose();
      }
    });

    it('without the flatten reordering the logits differ (the check can fail)', async () => {
      const model = tinyModel();
      loadKerasH5File(model, fixture('keras_tiny.h5'), { inputShape: TINY_INPUT, dataFormat: 'channels_first' });
      const got = await logitsOf(model, logits.get('tiny.x'));
      expect(() => assertClose(got, logits.get('tiny.logits').data)).to.throw(/element/);
      model.dispose();
    });

    it('readWeightsFile reads a .h5 weights file and loads it into a built-in model', async () => {
      const src = nn.builtinModel('mnist-cnn-small');
      const w = readWeightsFile(fixture('keras_mnist_cnn_small.h5'));
      expect(w.keras?.layout).to.equal('weights');
      const model = src.build({ seed: 3 });
      nn.loadInto(model, src, w);
      assertClose(await logitsOf(model, logits.get('mnist.x')), logits.get('small.logits').data, {}, 'CLI-loaded logits');
      model.dispose();
      // The teacher's file into the small model: named shape mismatch, as a CLI error.
      const teacher = readWeightsFile(fixture('keras_mnist_cnn_teacher.h5'));
      const m2 = src.build();
      expectThrow(() => nn.loadInto(m2, src, teacher), 'keras_mnist_cnn_teacher.h5', "Keras layer 'dense' (Dense)", '[7744, 128]', "'8.weight'", '[128, 1600]');
      m2.dispose();
    });
  });

  describe('layout conversions', () => {
    it('Conv2D HWIO → OIHW: the same convolution (float64 references, and kdgpu conv2d)', async () => {
      const xs = [2, 5, 4, 3]; // N H W C, non-square
      const ks = [3, 2, 3, 4]; // KH KW C O, non-square kernel
      const x = randomValues(xs.reduce((a, b) => a * b), 1);
      const k = randomValues(ks.reduce((a, b) => a * b), 2);
      const conv = convKernelToOIHW(k, ks);
      expect(conv.shape).to.deep.equal([4, 3, 3, 2]);
      const want = nhwcToNchw(kerasConv(x, xs, k, ks), [2, 3, 3, 4]);
      const xNchw = nhwcToNchw(x, xs);
      assertClose(torchConv(xNchw, [2, 3, 5, 4], conv.data, conv.shape), want, TIGHT, 'conv (CPU)');
      const y = kd.conv2d(kd.tensor(Float32Array.from(xNchw), [2, 3, 5, 4]), kd.tensor(conv.data, conv.shape));
      assertClose(await y.data(), want, {}, 'conv (kdgpu)');
    });

    it('DepthwiseConv2D [KH, KW, C, M] → [C·M, 1, KH, KW]: the same convolution as groups = C', () => {
      const xs = [1, 4, 5, 3];
      const ks = [2, 3, 3, 2]; // multiplier 2
      const x = randomValues(xs.reduce((a, b) => a * b), 3);
      const k = randomValues(ks.reduce((a, b) => a * b), 4);
      const dw = depthwiseKernelToOIHW(k, ks);
      expect(dw.shape).to.deep.equal([6, 1, 2, 3]);
      const want = nhwcToNchw(kerasDepthwise(x, xs, k, ks), [1, 3, 3, 6]);
      assertClose(torchConv(nhwcToNchw(x, xs), [1, 3, 4, 5], dw.data, dw.shape, 3), want, TIGHT, 'depthwise');
    });

    it('Dense [in, out] → [out, in], and after a Flatten of [C, H, W] the NHWC → NCHW row order', () => {
      const k = randomValues(6 * 5, 5);
      const plain = denseKernelToLinear(k, [6, 5]);
      expect(plain.shape).to.deep.equal([5, 6]);
      const rows = randomValues(2 * 6, 6);
      assertClose(torchLinear(rows, 2, plain.data, plain.shape), kerasDense(rows, 2, k, [6, 5]), TIGHT, 'dense');

      const [c, h, w] = [3, 2, 4];
      const kf = randomValues(c * h * w * 5, 7);
      const img = randomValues(2 * h * w * c, 8); // NHWC, as Keras sees it
      const keras = kerasDense(img, 2, kf, [c * h * w, 5]); // Keras flattens NHWC
      const lin = denseKernelToLinear(kf, [c * h * w, 5], [c, h, w]);
      assertClose(torchLinear(nhwcToNchw(img, [2, h, w, c]), 2, lin.data, lin.shape), keras, TIGHT, 'dense after flatten');
      // Without the reordering the same rows give other values (the check can fail).
      expect(() => assertClose(torchLinear(nhwcToNchw(img, [2, h, w, c]), 2, denseKernelToLinear(kf, [c * h * w, 5]).data, [5, 24]), keras, TIGHT)).to.throw();
      expectThrow(() => denseKernelToLinear(kf, [c * h * w, 5], [c, h, w + 1]), 'kdgpu: denseKernelToLinear', '24 input rows', '[3, 2, 5]');
      expectThrow(() => convKernelToOIHW(k, [6, 5]), 'kdgpu: convKernelToOIHW', '[KH, KW, in, out]', '[6, 5]');
    });

    const weight = (path: string, shape: number[], seed: number): KerasWeight => {
      const name = path.split('/').pop()!.replace(/:\d+$/, '');
      return { path, name, shape, dtype: 'float32', data: Float32Array.from(randomValues(shape.reduce((a, b) => a * b, 1), seed)) };
    };
    const bnFile = (names: string[]): KerasH5File => ({
      layout: 'weights',
      layers: [{ name: 'batch_normalization', className: 'BatchNormalization', weights: names.map((n, i) => weight(`batch_normalization/${n}:0`, [5], 10 + i)) }],
    });
    const bnTarget: KerasTarget = {
      path: 'bn',
      type: 'BatchNorm2d',
      entries: ['weight', 'bias', 'running_mean', 'running_var'].map((name) => ({ name, shape: [5] })).concat([{ name: 'num_batches_tracked', shape: [] }]),
    };

    it('BatchNormalization gamma, beta, moving_mean, moving_variance → weight, bias, running_mean, running_var', () => {
      const file = bnFile(['gamma', 'beta', 'moving_mean', 'moving_variance']);
      const plan = planKerasLoad(file, [bnTarget], 'bn.h5');
      expect([...plan.keys()]).to.deep.equal(['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var']);
      ['gamma', 'beta', 'moving_mean', 'moving_variance'].forEach((_, i) => expect([...[...plan.values()][i].data]).to.deep.equal([...file.layers[0].weights[i].data]));
      // center=False: no beta in the file, but the kdgpu layer has a bias.
      expectThrow(() => planKerasLoad(bnFile(['gamma', 'moving_mean', 'moving_variance']), [bnTarget], 'bn.h5'), 'kdgpu: bn.h5:', "kdgpu parameter 'bn.bias'", "Keras layer 'batch_normalization' (BatchNormalization)");
    });

    it('BatchNorm parameters and buffers land in a kdgpu module by those names', async () => {
      class FakeBatchNorm extends nn.Module {
        constructor(c: number) {
          super();
          this.registerParameter('weight', kd.ones([c]));
          this.registerParameter('bias', kd.zeros([c]));
          this.registerBuffer('running_mean', kd.zeros([c]));
          this.registerBuffer('running_var', kd.ones([c]));
        }
        forward(x: kd.Tensor): kd.Tensor {
          return x;
        }
      }
      const model = new nn.Sequential(new FakeBatchNorm(5));
      const file = bnFile(['gamma', 'beta', 'moving_mean', 'moving_variance']);
      applyKerasH5(model, file, 'bn.h5');
      const state = model.stateDict();
      const want = ['0.weight', '0.bias', '0.running_mean', '0.running_var'];
      expect([...state.keys()]).to.deep.equal(want);
      for (const [i, n] of want.entries()) expect([...(await state.get(n)!.data())]).to.deep.equal([...file.layers[0].weights[i].data]);
      model.dispose();
    });

    it('a depthwise kernel goes to a [C·M, 1, KH, KW] weight; unknown weights are refused', () => {
      const file: KerasH5File = {
        layout: 'weights',
        layers: [{ name: 'depthwise_conv2d', weights: [weight('depthwise_conv2d/depthwise_kernel:0', [3, 3, 4, 2], 20), weight('depthwise_conv2d/bias:0', [8], 21)] }],
      };
      const target: KerasTarget = { path: '0', type: 'Conv2d', entries: [{ name: 'weight', shape: [8, 1, 3, 3] }, { name: 'bias', shape: [8] }] };
      const plan = planKerasLoad(file, [target], 'dw.h5');
      expect([...plan.get('0.weight')!.data]).to.deep.equal([...depthwiseKernelToOIHW(file.layers[0].weights[0].data, [3, 3, 4, 2]).data]);
      const lstm: KerasH5File = { layout: 'weights', layers: [{ name: 'lstm', weights: [weight('lstm/recurrent_kernel:0', [4, 16], 22)] }] };
      expectThrow(() => planKerasLoad(lstm, [target], 'lstm.h5'), 'kdgpu: lstm.h5:', "Keras layer 'lstm'", "'recurrent_kernel'", 'no counterpart');
    });
  });

  describe('hostile files fail cleanly', () => {
    const teacherBytes = bytesOf('keras_mnist_cnn_teacher.h5');

    it('not HDF5: empty, wrong magic, a safetensors file', () => {
      expectThrow(() => readKerasH5(new Uint8Array(0), 'empty.h5'), 'kdgpu: empty.h5: not an HDF5 file (0 bytes)');
      const wrong = teacherBytes.slice(0, 4096);
      wrong[1] = 0x58; // 'X' for 'H'
      expectThrow(() => readKerasH5(wrong, 'magic.h5'), 'kdgpu: magic.h5: not an HDF5 file', 'HDF5 signature');
      expectThrow(() => readKerasH5(bytesOf('keras_h5_logits.safetensors'), 'st.h5'), 'kdgpu: st.h5: not an HDF5 file');
    });

    it('truncated anywhere: an error naming the file, never a jsfive string or a TypeError', () => {
      const cuts = [8, 40, 96, 300, 800, 2000, 4000, 10_000, 100_000, teacherBytes.length >> 1, teacherBytes.length - 4096, teacherBytes.length - 1];
      for (const n of cuts) {
        expectThrow(() => readKerasH5(teacherBytes.subarray(0, n), 'cut.h5'), 'kdgpu: cut.h5: ');
        let msg = '';
        try {
          readKerasH5(teacherBytes.subarray(0, n), 'cut.h5');
        } catch (e) {
          expect(e, `cut at ${n}`).to.be.instanceOf(Error);
          msg = (e as Error).message;
        }
        expect(msg, `cut at ${n}`).to.match(/truncated/);
      }
      // A cut in the file's last, unread bytes is caught by the length the superblock records.
      expectThrow(() => readKerasH5(teacherBytes.subarray(0, teacherBytes.length - 1), 'end.h5'), 'kdgpu: end.h5: truncated: the HDF5 superblock says the file has 4070312 bytes, it has 4070311');
      // With the recorded length patched to match, the cut is found where the reads run out.
      for (const n of [5000, 100_000, 4_060_000]) {
        const cut = teacherBytes.slice(0, n);
        new DataView(cut.buffer).setBigUint64(40, BigInt(n), true); // superblock v0 end-of-file address
        expectThrow(() => readKerasH5(cut, 'patched.h5'), 'kdgpu: patched.h5: ', 'failed, the file is truncated or damaged (');
      }
    });

    it('a damaged file: jsfive prints nothing to the terminal (it dumped ~20 KB of raw bytes)', () => {
      const b = bytesOf('keras_tiny.h5').slice();
      b[1067] = 0xff; // found by flipping bytes: jsfive console.logs an object here
      const writes: string[] = [];
      const [out, err] = [process.stdout.write, process.stderr.write];
      const capture = ((chunk: unknown) => (writes.push(String(chunk)), true)) as typeof process.stdout.write;
      process.stdout.write = capture;
      process.stderr.write = capture;
      let message = '';
      try {
        readKerasH5(b, 'noisy.h5');
      } catch (e) {
        message = (e as Error).message;
      } finally {
        process.stdout.write = out;
        process.stderr.write = err;
      }
      expect(writes.join('').length, writes.join('').slice(0, 200)).to.equal(0);
      if (message) expect(message).to.match(/^kdgpu: noisy\.h5: /);
      expect(message.length).to.be.below(400);
    });

    it('flipped bits in the structure: the file reads, or an error names it', () => {
      const tiny = bytesOf('keras_tiny.h5');
      const rng = new kd.Random(11);
      const warn = console.warn; // jsfive warns about attributes it cannot decode
      console.warn = () => {};
      try {
        for (let i = 0; i < 400; i++) {
          const b = tiny.slice();
          b[Math.floor(rng.next() * 4096)] ^= 1 << Math.floor(rng.next() * 8);
          try {
            readKerasH5(b, 'flip.h5');
          } catch (e) {
            expect(e).to.be.instanceOf(Error);
            expect((e as Error).message).to.match(/^kdgpu: flip\.h5: /);
          }
        }
      } finally {
        console.warn = warn;
      }
    });

    it("no 'layer_names', a listed layer or weight missing, float16 and int32 weights", () => {
      const cases: [string, string[]][] = [
        ['keras_bad_no_layer_names.h5', ["no 'layer_names' attribute in the root group", 'not a Keras HDF5 weights file']],
        ['keras_bad_missing_layer.h5', ["Keras layer 'dense' is listed in 'layer_names' but the file has no group 'dense'"]],
        ['keras_bad_missing_dataset.h5', ["weight 'dense_1/bias:0' of Keras layer 'dense_1' is listed in 'weight_names' but missing"]],
        ['keras_bad_float16.h5', ["weight 'conv2d/kernel:0' of Keras layer 'conv2d' is float16; only float32 and float64"]],
        ['keras_bad_int32.h5', ["weight 'dense_1/bias:0' of Keras layer 'dense_1' is int32; only float32 and float64"]],
      ];
      for (const [file, parts] of cases) expectThrow(() => readKerasH5(bytesOf(file), file), `kdgpu: ${file}: `, ...parts);
    });

    it('a dataset of the wrong shape names the Keras layer, the kdgpu parameter and both shapes', () => {
      const model = tinyModel();
      expectThrow(
        () => loadKerasH5File(model, fixture('keras_bad_shape.h5'), { inputShape: TINY_INPUT }),
        'keras_bad_shape.h5',
        "Keras layer 'dense' weight 'dense/kernel:0' has shape [45, 3] ([3, 45] in kdgpu's layout)",
        "kdgpu parameter '3.weight' of '3' (Linear) has shape [4, 45]",
      );
      model.dispose();
    });

    it('layer counts that differ name the unpaired layer; a Flatten needs inputShape', () => {
      const f = readKerasH5(bytesOf('keras_tiny.h5'), 'tiny.h5');
      const extra = new nn.Sequential(new nn.Conv2d(2, 3, [3, 2]), new nn.ReLU(), new nn.Flatten(), new nn.Linear(45, 4), new nn.Linear(4, 3), new nn.Linear(3, 3));
      expectThrow(() => applyKerasH5(extra, f, 'tiny.h5', { inputShape: TINY_INPUT }), 'kdgpu: tiny.h5:', '3 Keras layers with weights', 'the model has 4', "kdgpu layer '5' (Linear) (parameters 5.weight, 5.bias) has no Keras counterpart");
      const fewer = new nn.Sequential(new nn.Conv2d(2, 3, [3, 2]), new nn.Flatten(), new nn.Linear(45, 3));
      expectThrow(() => applyKerasH5(fewer, f, 'tiny.h5', { inputShape: TINY_INPUT }), 'kdgpu: tiny.h5:', "Keras layer 'dense_1' (Dense) has no kdgpu counterpart");
      const model = tinyModel();
      expectThrow(() => applyKerasH5(model, f, 'tiny.h5'), 'kdgpu: tiny.h5:', 'Flatten', 'pass inputShape');
      [extra, fewer, model].forEach((m) => m.dispose());
    });
  });
});
