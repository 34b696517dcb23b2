import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as kd from '../src/index.js';
import { loadFixture } from './fixtures.js';
import { assertClose, setup } from './helpers.js';

const { nn } = kd;

const mlp = (rng: number) =>
  new nn.Sequential(new nn.Linear(784, 96, { rng }), new nn.ReLU(), new nn.Linear(96, 96, { rng: rng + 1 }), new nn.ReLU(), new nn.Linear(96, 10, { rng: rng + 2 }));

/** A safetensors file from a raw header object and data bytes. */
function rawFile(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('weight files (safetensors)', () => {
  before(setup);
  const dir = mkdtempSync(join(tmpdir(), 'kdgpu-weights-'));

  it('loads a PyTorch-saved state_dict and gives PyTorch\'s logits', async () => {
    const model = mlp(1);
    kd.loadWeights(model, join('test', 'fixtures', 'mlp_student_state_dict.safetensors'));
    const io = loadFixture('mlp_student_io.safetensors');
    const x = kd.tensor(io.get('x').data, io.get('x').shape);
    const logits = kd.noGrad(() => model.call(x));
    assertClose(await logits.data(), io.get('logits').data, { rtol: 1e-5 }, 'logits');
    model.dispose();
  });

  it('round-trips a kdgpu file bit-exactly', async () => {
    const a = mlp(5);
    const p1 = join(dir, 'a.safetensors');
    await kd.saveWeights(a, p1, { note: 'round trip' });
    const b = mlp(50);
    const meta = kd.loadWeights(b, p1);
    expect(meta.note).to.equal('round trip');
    const p2 = join(dir, 'b.safetensors');
    await kd.saveWeights(b, p2, { note: 'round trip' });
    expect(Buffer.compare(readFileSync(p1), readFileSync(p2))).to.equal(0);
    for (const [[na, ta], [nb, tb]] of a.namedParameters().map((e, i) => [e, b.namedParameters()[i]] as const)) {
      expect(nb).to.equal(na);
      expect(Buffer.compare(Buffer.from((await ta.data()).buffer), Buffer.from((await tb.data()).buffer))).to.equal(0);
    }
    a.dispose();
    b.dispose();
  });

  it('rejects hostile files with errors naming the file and the problem', () => {
    const f32 = new Uint8Array(16);
    const cases: [string, Uint8Array, RegExp][] = [
      ['tiny', new Uint8Array(3), /tiny: not a safetensors file/],
      ['past-eof', rawFile({}, new Uint8Array(0), 1000n), /past-eof: header length 1000 runs past the end of the file/],
      ['huge-len', rawFile({}, new Uint8Array(0), 2n ** 62n), /huge-len: header length \d+ runs past the end/],
      ['bad-json', (() => { const b = rawFile({}, new Uint8Array(0)); b[8] = 0x7b; b[9] = 0x7b; return b; })(), /bad-json: header is not valid JSON/],
      ['bad-dtype', rawFile({ w: { dtype: 'Q7', shape: [4], data_offsets: [0, 16] } }, f32), /bad-dtype: tensor 'w': unknown dtype "Q7"/],
      ['out-of-range', rawFile({ w: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, f32), /out-of-range: tensor 'w': data_offsets \[0, 32\] are out of range/],
      ['overlap', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, f32), /overlap: tensors 'a' and 'b' overlap/],
      ['size-mismatch', rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, f32), /size-mismatch: tensor 'w': shape \[3\] of F32 needs 12 bytes, data_offsets give 16/],
      ['neg-shape', rawFile({ w: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, f32), /neg-shape: tensor 'w': shape \[-4\]/],
    ];
    for (const [name, bytes, re] of cases) expect(() => nn.parseSafetensors(bytes, name), name).to.throw(re);
  });

  it('bounds what a hostile header costs: a header past 16 MiB is refused before parsing; echoed values are clipped', () => {
    const big = new Uint8Array(8 + 17 * 2 ** 20);
    new DataView(big.buffer).setBigUint64(0, BigInt(17 * 2 ** 20), true);
    expect(() => nn.parseSafetensors(big, 'big-header')).to.throw(/big-header: header length 17825792 exceeds the 16777216-byte limit/);
    const longName = 'x'.repeat(1_000_000);
    const bytes = rawFile({ [longName]: { dtype: 'Q7', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(16));
    let message = '';
    try {
      nn.parseSafetensors(bytes, 'long-name');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).to.match(/^kdgpu: long-name: tensor 'x{80}… \(1000000 characters\)': unknown dtype "Q7"$/);
    expect(message.length).to.be.below(300);
  });

  it('names the parameter when a file does not fit the model', async () => {
    const model = mlp(1);
    const p = join(dir, 'wrong.safetensors');
    const other = new nn.Sequential(new nn.Linear(784, 96), new nn.ReLU(), new nn.Linear(96, 97), new nn.ReLU(), new nn.Linear(97, 10));
    await kd.saveWeights(other, p);
    expect(() => kd.loadWeights(model, p)).to.throw(/wrong\.safetensors: parameter '2\.weight' has shape \[97, 96\] in the file, the model expects \[96, 96\]/);
    const small = new nn.Sequential(new nn.Linear(784, 96));
    const p2 = join(dir, 'small.safetensors');
    await kd.saveWeights(small, p2);
    expect(() => kd.loadWeights(model, p2)).to.throw(/small\.safetensors does not fit this model.*missing 2\.weight, 2\.bias, 4\.weight, 4\.bias/);
    writeFileSync(join(dir, 'trunc.safetensors'), readFileSync(p).subarray(0, 100));
    expect(() => kd.loadWeights(model, join(dir, 'trunc.safetensors'))).to.throw(/trunc\.safetensors/);
    expect(() => kd.loadWeights(model, join(dir, 'nope.safetensors'))).to.throw(/nope\.safetensors does not exist/);
    model.dispose();
    other.dispose();
    small.dispose();
  });
});
