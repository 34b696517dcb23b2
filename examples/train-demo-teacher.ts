/**
 * Trains the teacher that ships with kdgpu (assets/mnist-cnn-small-fashion.safetensors): the
 * `mnist-cnn-small` CNN on all 60,000 Fashion-MNIST training images, Adam 1e-3, batch 128,
 * seed 0, evaluated on the 10,000 test images after every epoch; the weights are written after
 * each epoch, so the file always holds the latest finished epoch.
 *
 *   npx tsx examples/train-demo-teacher.ts [--epochs 5] [--out assets/mnist-cnn-small-fashion.safetensors]
 */
import * as kd from '../src/index.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}

const epochs = Number(arg('epochs', '5'));
const out = arg('out', 'assets/mnist-cnn-small-fashion.safetensors');
await kd.init();
const train = kd.fashionMnistDataset('train');
const test = kd.fashionMnistDataset('test');
const model = kd.nn.buildModel('mnist-cnn-small', { seed: 0 });
const loader = new kd.GpuLoader(train, { batchSize: 128, shuffle: true, seed: 0 });
const optimizer = new kd.nn.Adam(model.parameters(), { lr: 1e-3 });
kd.dropoutSeed(0);
await kd.nn.fit(model, loader, {
  optimizer,
  epochs,
  validation: test,
  callbacks: [
    {
      async onEpochEnd(log) {
        await kd.saveWeights(model, out);
        console.log(`epoch ${log.epoch}: loss ${log.loss.toFixed(4)}, test accuracy ${(100 * log.val!.accuracy).toFixed(2)}%, ${log.seconds.toFixed(0)} s (${log.imagesPerSecond.toFixed(0)} img/s) → ${out}`);
      },
    },
  ],
});
