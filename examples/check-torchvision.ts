/**
 * Checks kdgpu's forward pass of a torchvision model against PyTorch's: loads weights exported by
 * scripts/export_torchvision.py and its reference batch, runs the kdgpu model in eval mode and
 * compares logits elementwise with |got − ref| ≤ rtol·|ref| + 1e-6·max|ref| (rtol 1e-4).
 *
 *   /usr/bin/python3 scripts/export_torchvision.py --model resnet50 --random-bn \
 *       --out /tmp/r50.safetensors --reference /tmp/r50-ref.safetensors --batch 2 --size 224
 *   npx tsx examples/check-torchvision.ts --weights /tmp/r50.safetensors --reference /tmp/r50-ref.safetensors
 *
 * Exits 1 when the logits differ by more than the tolerance.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import * as kd from '../src/index.js';

const opts = new Command('check-torchvision')
  .requiredOption('--weights <file>', 'safetensors weights written by scripts/export_torchvision.py')
  .requiredOption('--reference <file>', 'its --reference file (input batch and PyTorch logits)')
  .option('--rtol <r>', 'relative tolerance', Number, 1e-4)
  .parse()
  .opts<{ weights: string; reference: string; rtol: number }>();

const engine = await kd.init();
const bytes = new Uint8Array(readFileSync(opts.weights));
const meta = kd.nn.parseSafetensors(bytes, opts.weights).metadata;
const name = meta['kdgpu.model'];
if (!name) throw new Error(`${opts.weights}: no kdgpu.model in the metadata (was it written by scripts/export_torchvision.py?)`);
const model = kd.nn.buildModel(name, { classes: Number(meta['kdgpu.classes'] ?? 1000), width: meta['kdgpu.width'] ? Number(meta['kdgpu.width']) : undefined });
kd.nn.loadWeightsFromBytes(model, bytes, opts.weights);
model.eval();
const ref = kd.nn.parseSafetensors(new Uint8Array(readFileSync(opts.reference)), opts.reference).tensors;
const input = ref.get('input');
const want = ref.get('logits');
if (!input || !want) throw new Error(`${opts.reference}: expected tensors 'input' and 'logits'`);
console.log(`${name}: ${model.numParameters().toLocaleString('en-US')} parameters; input ${input.shape.join('×')}; adapter ${engine.adapter.description || engine.adapter.vendor}`);

const x = kd.tensor(input.data as Float32Array, input.shape);
const t0 = performance.now();
const y = kd.noGrad(() => model.forward(x) as kd.Tensor);
const got = (await y.data()) as Float32Array;
const seconds = (performance.now() - t0) / 1000;
const ref64 = want.data as Float32Array;
let maxRef = 0;
for (const v of ref64) maxRef = Math.max(maxRef, Math.abs(v));
let worst = 0;
let worstAt = 0;
let maxAbs = 0;
let fails = 0;
for (let i = 0; i < got.length; i++) {
  const d = Math.abs(got[i] - ref64[i]);
  maxAbs = Math.max(maxAbs, d);
  const excess = d / (opts.rtol * Math.abs(ref64[i]) + 1e-6 * maxRef);
  if (excess > 1) fails++;
  if (excess > worst) [worst, worstAt] = [excess, i];
}
console.log(`forward ${seconds.toFixed(1)} s (includes kernel compilation); logits ${y.shape.join('×')}, max |ref| ${maxRef.toExponential(3)}`);
console.log(`max |got − ref| ${maxAbs.toExponential(3)}; worst element ${worstAt}: got ${got[worstAt]}, ref ${ref64[worstAt]} (${worst.toFixed(3)} × the tolerance)`);
console.log(fails ? `FAIL: ${fails} of ${got.length} logits outside rtol ${opts.rtol}` : `PASS: all ${got.length} logits within rtol ${opts.rtol} (+ 1e-6·max|ref|)`);
process.exitCode = fails ? 1 : 0;
