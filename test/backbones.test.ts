/**
 * Backbones against PyTorch: resnet-8 and torchvision's mobilenet_v2(width_mult=0.25), randomly
 * initialised in PyTorch (random BatchNorm statistics too) and exported as torch saves them
 * (test/fixtures/make_backbone_fixtures.py). Parameter counts and state_dict names of every
 * backbone against its PyTorch definition: test/models.test.ts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { assertClose, setup } from './helpers.js';

const { nn } = kd;

function load(model: kd.nn.Module, name: string): void {
  const file = `test/fixtures/backbone_${name}.safetensors`;
  nn.loadWeightsFromBytes(model, new Uint8Array(readFileSync(file)), file);
}

async function logits(model: kd.nn.Module, x: kd.Tensor): Promise<Float32Array> {
  const y = kd.noGrad(() => model.forward(x) as kd.Tensor);
  const out = (await y.data()) as Float32Array;
  y.dispose();
  return out;
}

describe('backbones (PyTorch fixtures)', function () {
  this.timeout(600_000);
  before(setup);

  it('resnet-8: eval-mode logits equal PyTorch’s (rtol 1e-4); train mode uses batch statistics and updates the running ones like PyTorch', async () => {
    const io = loadFixture('backbone_resnet-8_io.safetensors');
    const model = nn.buildModel('resnet-8');
    load(model, 'resnet-8');
    const x = kd.tensor(io.get('input').data, io.get('input').shape);
    model.eval();
    assertClose(await logits(model, x), io.get('logits_eval').data, { rtol: 1e-4 }, 'eval logits');
    model.train();
    assertClose(await logits(model, x), io.get('logits_train').data, { rtol: 1e-4 }, 'train logits');
    const state = model.stateDict();
    for (const [name, t] of io.tensors) {
      if (!name.startsWith('after_train.')) continue;
      const key = name.slice('after_train.'.length);
      assertClose((await state.get(key)!.data()) as Float32Array, t.data, { rtol: 1e-5 }, key);
    }
    expect(Array.from((await state.get('bn1.num_batches_tracked')!.data()) as Int32Array)).to.deep.equal([8]);
    x.dispose();
    model.dispose();
  });

  it('mobilenet-v2 (width 0.25, 32×32): eval-mode logits equal torchvision’s (rtol 1e-4)', async () => {
    const io = loadFixture('backbone_mobilenet-v2-0.25_io.safetensors');
    const model = nn.buildModel('mobilenet-v2', { width: 0.25, classes: 10 });
    load(model, 'mobilenet-v2-0.25');
    const x = kd.tensor(io.get('input').data, io.get('input').shape);
    model.eval();
    assertClose(await logits(model, x), io.get('logits_eval').data, { rtol: 1e-4 }, 'eval logits');
    x.dispose();
    model.dispose();
  });
});
