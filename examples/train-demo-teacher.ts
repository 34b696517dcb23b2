/**
 * Trains the teacher that ships with kdgpu (assets/fashion-teacher.safetensors): a built-in model
 * (default `hinton-mlp-teacher`, Hinton et al.'s 2×1200 MLP with dropout) on all 60,000
 * Fashion-MNIST training images, Adam 1e-3, batch 128, seed 0, evaluated on the 10,000 test images
 * after every epoch. The weights (with the model name in the file's metadata, as `kdgpu train`
 * writes it) are saved after each epoch whose test accuracy is the best so far.
 *
 *   npx tsx examples/train-demo-teacher.ts [--model hinton-mlp-teacher] [--epochs 12] [--out assets/fashion-teacher.safetensors]
 */
import * as kd from '../src/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const name = arg('model', 'hinton-mlp-teacher');
const epochs = Number(arg('epochs', '12'));
const out = arg('out', 'assets/fashion-teacher.safetensors');
await kd.init();
const train = kd.fashionMnistDataset('train');
const test = kd.fashionMnistDataset('test');
const model = kd.nn.buildModel(name, { seed: 0 });
let best = 0;
await kd.nn.trainClassifier(model, train, {
  epochs,
  batchSize: 128,
  optimizer: 'adam',
  lr: 1e-3,
  seed: 0,
  validation: test,
  callbacks: [
    {
      async onEpochEnd(log) {
        const acc = log.val!.accuracy;
        const saved = acc > best;
        if (saved) {
          best = acc;
          await kd.saveWeights(model, out, { 'kdgpu.model': name, 'kdgpu.epoch': String(log.epoch), 'kdgpu.testAccuracy': String(acc), 'kdgpu.recipe': `npx tsx examples/train-demo-teacher.ts --model ${name} --epochs ${epochs}` });
        }
        console.log(`epoch ${log.epoch}: loss ${log.loss.toFixed(4)}, test accuracy ${(100 * acc).toFixed(2)}%, ${log.seconds.toFixed(0)} s (${log.imagesPerSecond.toFixed(0)} img/s)${saved ? ` → ${out}` : ''}`);
      },
    },
  ],
});
