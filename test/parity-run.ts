/**
 * The PyTorch training-parity run, shared by test/parity.test.ts and the device bundle's check
 * (bench/device/check.ts): a built-in model starts from the fixture's initial weights (dropout off)
 * and takes the fixture's Adam steps on the first Fashion-MNIST training images in file order.
 * It returns what the callers hold to their bounds: each step's loss beside PyTorch's, and each
 * parameter's relative distance ‖Δw‖/‖w‖ from PyTorch's final weights.
 */
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';

/** What a parity run measured. */
export interface ParityRun {
  steps: number;
  batch: number;
  /** kdgpu's loss at each step, and PyTorch's. */
  losses: number[];
  reference: ArrayLike<number>;
  /** Per parameter name: ‖Δw‖/‖w‖ after the last step. */
  weightErrors: [name: string, relative: number][];
}

/** Runs `parity-<model>.safetensors`'s steps; `dataDir`: where Fashion-MNIST is (default: the usual search). */
export async function runParity(model: string, dataDir?: string): Promise<ParityRun> {
  const fx = loadFixture(`parity-${model}.safetensors`);
  const steps = Number(fx.meta.steps);
  const batch = Number(fx.meta.batch);
  const m = kd.nn.buildModel(model, { seed: 99 });
  const init = new Map<string, kd.Tensor>();
  for (const [k] of m.stateDict()) {
    const t = fx.get(`init.${k}`);
    init.set(k, kd.tensor(t.data, t.shape));
  }
  m.loadStateDict(init);
  m.eval(); // dropout off, as in the fixture
  const data = kd.take(kd.fashionMnistDataset('train', dataDir), 0, steps * batch);
  const loader = new kd.GpuLoader(data, { batchSize: batch }); // file order, as the fixture
  const opt = new kd.nn.Adam(m.parameters(), { lr: Number(fx.meta.lr) });
  const lossTensors: kd.Tensor[] = [];
  try {
    for (const { x, y } of loader.epoch()) {
      const loss = kd.tidy(() => {
        const l = kd.softmaxCrossEntropy(m.call(x), y);
        opt.zeroGrad();
        l.backward();
        return l;
      });
      opt.step();
      lossTensors.push(loss);
      x.dispose();
      y.dispose();
    }
    const losses: number[] = [];
    for (const l of lossTensors) losses.push(await l.item());
    const weightErrors: [string, number][] = [];
    for (const [k, p] of m.namedParameters()) {
      const want = fx.get(`final.${k}`).data;
      const got = await p.data();
      let d = 0;
      let n = 0;
      for (let i = 0; i < want.length; i++) {
        d += (got[i] - want[i]) ** 2;
        n += want[i] ** 2;
      }
      weightErrors.push([k, Math.sqrt(d / n)]);
    }
    return { steps, batch, losses, reference: fx.get('losses').data, weightErrors };
  } finally {
    lossTensors.forEach((l) => l.dispose());
    loader.dispose();
    opt.dispose();
    m.dispose();
  }
}
