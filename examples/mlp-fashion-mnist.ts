/**
 * A small end-to-end run of the engine: a 784→128→10 MLP trained on a Fashion-MNIST subset with
 * plain SGD, everything (forward, backward, update) on the GPU through kdgpu's autograd.
 *
 *   npx tsx examples/mlp-fashion-mnist.ts [--train 6000] [--epochs 3]
 */
import * as kd from '../src/index.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const nTrain = arg('train', 6000);
const epochs = arg('epochs', 3);
const batch = 100;
const lr = 0.1;

const engine = await kd.init();
console.log(`adapter: ${engine.adapter.description || engine.adapter.vendor}${engine.adapter.software ? ' (software)' : ''}`);
const train = kd.loadFashionMnist('train');
const test = kd.loadFashionMnist('test');
const d = train.rows * train.cols;

// PyTorch's Linear initialisation: U(−1/√fan_in, 1/√fan_in).
const init = (shape: number[], fanIn: number, seed: number) =>
  kd.rand(shape, { low: -1 / Math.sqrt(fanIn), high: 1 / Math.sqrt(fanIn), seed, requiresGrad: true });
let params = [init([128, d], d, 1), init([128], d, 2), init([10, 128], 128, 3), init([10], 128, 4)];

const forward = (x: kd.Tensor) => kd.linear(kd.linear(x, params[0], params[1], { relu: true }), params[2], params[3]);

/** Mean cross-entropy from logits and one-hot targets, via a stable log-softmax. */
function crossEntropy(logits: kd.Tensor, onehot: kd.Tensor): kd.Tensor {
  const shifted = logits.sub(kd.noGrad(() => logits.max(1, { keepdims: true })));
  const logp = shifted.sub(shifted.exp().sum(1, { keepdims: true }).log());
  return logp.mul(onehot).sum(1).mean().neg();
}

function batchTensors(set: kd.ImageSet, start: number, n: number) {
  const x = kd.tensor(set.images.subarray(start * d, (start + n) * d), [n, d]);
  const oh = new Float32Array(n * 10);
  for (let i = 0; i < n; i++) oh[i * 10 + set.labels[start + i]] = 1;
  return { x, y: kd.tensor(oh, [n, 10]) };
}

async function accuracy(set: kd.ImageSet, n: number): Promise<number> {
  let correct = 0;
  for (let s = 0; s < n; s += 500) {
    const m = Math.min(500, n - s);
    const pred = kd.tidy(() => kd.noGrad(() => forward(batchTensors(set, s, m).x).argmax(1)));
    const p = await pred.data();
    pred.dispose();
    for (let i = 0; i < m; i++) if (p[i] === set.labels[s + i]) correct++;
  }
  return correct / n;
}

const t0 = performance.now();
for (let epoch = 1; epoch <= epochs; epoch++) {
  let lastLoss = kd.scalar(0);
  for (let s = 0; s + batch <= nTrain; s += batch) {
    const loss = kd.tidy(() => {
      const { x, y } = batchTensors(train, s, batch);
      const l = crossEntropy(forward(x), y);
      l.backward();
      params = params.map((p) => {
        const next = kd.keep(kd.noGrad(() => p.sub(p.grad!.mul(lr))));
        next.requiresGrad = true;
        p.dispose();
        return next;
      });
      return l;
    });
    lastLoss.dispose();
    lastLoss = loss;
    engine.flush();
  }
  const acc = await accuracy(test, 2000);
  console.log(`epoch ${epoch}: last batch loss ${(await lastLoss.item()).toFixed(4)}, test accuracy (2,000 images) ${(100 * acc).toFixed(1)}%`);
  lastLoss.dispose();
}
console.log(`trained on ${nTrain} images × ${epochs} epochs in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
