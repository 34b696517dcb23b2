/**
 * Hostile and broken ONNX files: each gives one clear error naming the file, before any GPU
 * buffer is made and without allocating anything large, and the process carries on (a good model
 * still loads and runs afterwards). The bad models are encoded here with protobufjs and the
 * official schema, starting from a small valid graph.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { modelProto } from '../src/onnx/proto.js';
import { setup } from './helpers.js';
import { expectWithin } from './onnx-helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface NodeSpec {
  op_type: string;
  input: string[];
  output: string[];
  name?: string;
  domain?: string;
}

const f32 = (vals: number[]) => new Uint8Array(Float32Array.from(vals).buffer);

/** A model: input x [N, 4] → nodes → output y, with the given initializers. */
function encode(opts: { nodes?: NodeSpec[]; initializers?: object[]; opset?: number; output?: string } = {}): Uint8Array {
  const nodes = opts.nodes ?? [
    { op_type: 'Gemm', input: ['x', 'w', 'b'], output: ['h'], name: 'fc', attribute: [{ name: 'transB', type: 2, i: 1 }] },
    { op_type: 'Relu', input: ['h'], output: ['y'], name: 'relu' },
  ];
  const info = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } },
  });
  const msg = {
    ir_version: 8,
    opset_import: [{ domain: '', version: opts.opset ?? 13 }],
    graph: {
      name: 'g',
      node: nodes,
      initializer: opts.initializers ?? [
        { name: 'w', dims: [3, 4], data_type: 1, raw_data: f32([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -1]) },
        { name: 'b', dims: [3], data_type: 1, float_data: [0.5, -0.5, 0] },
      ],
      input: [info('x', ['N', 4])],
      output: [info(opts.output ?? 'y', ['N', 3])],
    },
  };
  const T = modelProto();
  return T.encode(T.fromObject(msg)).finish();
}

/** Runs `fn`, expecting an OnnxError matching `re`; checks that no GPU buffer was made and the heap did not grow by more than 32 MB. */
function expectRefused(fn: () => unknown, re: RegExp): kd.OnnxError {
  const before = kd.engine().memory();
  const heap = process.memoryUsage().heapUsed;
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an error').to.be.instanceOf(kd.OnnxError);
  expect((err as Error).message).to.match(re);
  const after = kd.engine().memory();
  expect(after.liveBuffers, 'GPU buffers made before the error').to.equal(before.liveBuffers);
  expect(process.memoryUsage().heapUsed - heap, 'heap growth').to.be.below(32 * 2 ** 20);
  return err as kd.OnnxError;
}

describe('ONNX import: hostile files', function () {
  this.timeout(120_000);
  before(setup);

  it('the hand-encoded base model is valid and runs (so each case below breaks exactly one thing)', async () => {
    const m = kd.loadOnnx(encode(), { source: 'base.onnx' });
    const y = await kd.noGrad(() => m.call(kd.tensor([[1, 2, 3, 4]]))).data();
    expect(Array.from(y)).to.deep.equal([1.5, 1.5, 0]);
    m.dispose();
  });

  it('truncated protobuf', () => {
    const bytes = readFileSync(join(FIXTURES, 'onnx_resnet8_bn.onnx'));
    for (const cut of [bytes.length - 1000, Math.floor(bytes.length / 2), 7]) {
      expectRefused(() => kd.loadOnnx(bytes.subarray(0, cut), { source: 'cut.onnx' }), /^kdgpu: cut\.onnx: not a readable ONNX model: protobuf decoding failed .*truncated/);
    }
    expectRefused(() => kd.loadOnnx(new Uint8Array(0), { source: 'empty.onnx' }), /empty\.onnx: the file is empty/);
    expectRefused(() => kd.loadOnnx(new TextEncoder().encode('{"not": "onnx"}'), { source: 'json.onnx' }), /json\.onnx: /);
  });

  it('an initializer whose data is shorter than its dims say', () => {
    const initializers = [
      { name: 'w', dims: [3000, 4000], data_type: 1, raw_data: f32([1, 2, 3, 4]) },
      { name: 'b', dims: [3], data_type: 1, float_data: [0, 0, 0] },
    ];
    expectRefused(() => kd.loadOnnx(encode({ initializers }), { source: 'short.onnx' }), /short\.onnx: initializer 'w' has 16 bytes of data, but its dims \[3000, 4000\] \(FLOAT\) need 48000000/);
    const typed = [initializers[0], { name: 'b', dims: [300000], data_type: 1, float_data: [0, 0, 0] }];
    expectRefused(() => kd.loadOnnx(encode({ initializers: typed }), { source: 'short2.onnx' }), /initializer '(w|b)' has/);
  });

  it('dims whose product overflows', () => {
    const big = (dims: (number | string)[]) => [
      { name: 'w', dims, data_type: 1, raw_data: f32([1]) },
      { name: 'b', dims: [3], data_type: 1, float_data: [0, 0, 0] },
    ];
    // 2¹⁶ four times: each dim is small, the product (2⁶⁴) overflows int64 and float64's integers.
    expectRefused(() => kd.loadOnnx(encode({ initializers: big([65536, 65536, 65536, 65536]) }), { source: 'huge.onnx' }), /huge\.onnx: initializer 'w' has dims \[65536, 65536, 65536, 65536\], more than \d+ elements; refused before allocating/);
    expectRefused(() => kd.loadOnnx(encode({ initializers: big(['9223372036854775807']) }), { source: 'int64.onnx' }), /int64\.onnx: initializer 'w' dimension 0 is .*beyond ±2⁵³/);
    expectRefused(() => kd.loadOnnx(encode({ initializers: big([-4, -4]) }), { source: 'neg.onnx' }), /neg\.onnx: initializer 'w' has dimension -4/);
  });

  it('a cycle', () => {
    const nodes = [
      { op_type: 'Add', input: ['x', 'b2'], output: ['a'], name: 'first' },
      { op_type: 'Relu', input: ['a'], output: ['b2'], name: 'second' },
      { op_type: 'Relu', input: ['b2'], output: ['y'], name: 'third' },
    ];
    expectRefused(() => kd.loadOnnx(encode({ nodes }), { source: 'cycle.onnx' }), /cycle\.onnx: the graph has a cycle through nodes 'first' \(Add\), 'second' \(Relu\)/);
  });

  it('a dangling input', () => {
    const nodes = [{ op_type: 'Add', input: ['x', 'ghost'], output: ['y'], name: 'add' }];
    expectRefused(() => kd.loadOnnx(encode({ nodes }), { source: 'dangling.onnx' }), /dangling\.onnx: node 'add' \(Add\) reads 'ghost', which no node, initializer or graph input provides/);
  });

  it('external data outside the model\'s folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-onnx-'));
    try {
      mkdirSync(join(dir, 'model'));
      writeFileSync(join(dir, 'secret.bin'), new Uint8Array(48));
      symlinkSync(join(dir, 'secret.bin'), join(dir, 'model', 'link.bin'));
      for (const [location, re] of [
        ['../secret.bin', /outside the model's folder/],
        ['/etc/passwd', /outside the model's folder/],
        ['sub/../../secret.bin', /outside the model's folder/],
        ['link.bin', /resolves to .*secret\.bin, outside the model's folder/],
        ['missing.bin', /external data file 'missing\.bin' was not found beside the model/],
      ] as const) {
        const w = { name: 'w', dims: [3, 4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: location }] };
        const file = join(dir, 'model', 'm.onnx');
        writeFileSync(file, encode({ initializers: [w, { name: 'b', dims: [3], data_type: 1, float_data: [0, 0, 0] }] }));
        expectRefused(() => kd.loadOnnxFile(file), new RegExp(`^kdgpu: m\\.onnx: .*${re.source}`));
      }
      // Beside the model, and larger than the file holds.
      writeFileSync(join(dir, 'model', 'w.bin'), f32([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -1]));
      const w = { name: 'w', dims: [3, 4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: 'w.bin' }, { key: 'offset', value: '8' }] };
      writeFileSync(join(dir, 'model', 'm.onnx'), encode({ initializers: [w, { name: 'b', dims: [3], data_type: 1, float_data: [0, 0, 0] }] }));
      expectRefused(() => kd.loadOnnxFile(join(dir, 'model', 'm.onnx')), /m\.onnx: external data 'w\.bin' has 48 bytes; the model reads 48 bytes at offset 8/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('external data beside the model loads (files in Node, bytes in the browser)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-onnx-'));
    try {
      const data = f32([9, 9, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, -1]); // 8 bytes before w
      writeFileSync(join(dir, 'weights.bin'), data);
      const w = { name: 'w', dims: [3, 4], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '8' }, { key: 'length', value: '48' }] };
      const bytes = encode({ initializers: [w, { name: 'b', dims: [3], data_type: 1, float_data: [0.5, -0.5, 0] }] });
      writeFileSync(join(dir, 'm.onnx'), bytes);
      const x = kd.tensor([[1, 2, 3, 4]]);
      const fromFile = kd.loadOnnxFile(join(dir, 'm.onnx'));
      const fromBytes = kd.loadOnnx(bytes, { externalData: kd.bytesDataReader({ 'weights.bin': data }) });
      expect(Array.from(await kd.noGrad(() => fromFile.call(x)).data())).to.deep.equal([1.5, 1.5, 0]);
      expect(Array.from(await kd.noGrad(() => fromBytes.call(x)).data())).to.deep.equal([1.5, 1.5, 0]);
      expectRefused(() => kd.loadOnnx(bytes, { source: 'nodata.onnx' }), /nodata\.onnx: initializer 'w' keeps its data in 'weights\.bin': pass the external data files/);
      fromFile.dispose();
      fromBytes.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('unsupported ops: one error listing every op type and the first node using it', () => {
    const nodes = [
      { op_type: 'Erf', input: ['x'], output: ['a'], name: 'erf1' },
      { op_type: 'Relu', input: ['a'], output: ['b2'], name: 'ok' },
      { op_type: 'Erf', input: ['b2'], output: ['c'], name: 'erf2' },
      { op_type: 'LSTM', input: ['c'], output: ['d'], name: 'lstm' },
      { op_type: 'FusedConv', domain: 'com.microsoft', input: ['d'], output: ['y'], name: 'fused' },
    ];
    const err = expectRefused(() => kd.loadOnnx(encode({ nodes }), { source: 'ops.onnx' }), /^kdgpu: ops\.onnx: unsupported ONNX ops: Erf \(first at node 'erf1'\), LSTM \(first at node 'lstm'\), com\.microsoft\.FusedConv \(first at node 'fused'\)\. Supported: Conv, /);
    expect(err.message).to.not.include('erf2');
  });

  it('unsupported attributes and run-time data where constants are needed: all listed at once', () => {
    const nodes = [
      { op_type: 'Pad', input: ['x', 'pads'], output: ['a'], name: 'reflect', attribute: [{ name: 'mode', type: 3, s: new TextEncoder().encode('reflect') }] },
      { op_type: 'Reshape', input: ['a', 'x'], output: ['y'], name: 'reshape' },
    ];
    const initializers = [{ name: 'pads', dims: [4], data_type: 7, int64_data: [0, 1, 0, 1] }];
    expectRefused(() => kd.loadOnnx(encode({ nodes, initializers }), { source: 'attrs.onnx' }), /attrs\.onnx: cannot run this graph:\n {2}node 'reflect' \(Pad\): mode 'reflect' \(only 'constant'\)\n {2}node 'reshape' \(Reshape\): input 1 \('x'\) must be a constant or computed from shapes/);
  });

  it('an opset outside 11–17', () => {
    expectRefused(() => kd.loadOnnx(encode({ opset: 9 }), { source: 'old.onnx' }), /old\.onnx: the model uses ai\.onnx opset 9; the importer supports opsets 11–17/);
  });

  it('leaves the process working: a good model loads and matches after all of the above', async () => {
    const m = kd.loadOnnxFile(join(FIXTURES, 'onnx_resnet8_fused.onnx')).eval();
    const n = kd.loadOnnxFile(join(FIXTURES, 'onnx_resnet8_bn.onnx')).eval();
    const x = kd.randn([2, 3, 32, 32], { seed: 3 });
    // Fused and kept BatchNorm are the same function.
    expectWithin(await kd.noGrad(() => m.call(x)).data(), await kd.noGrad(() => n.call(x)).data(), 'fused vs kept BatchNorm');
    m.dispose();
    n.dispose();
  });
});
