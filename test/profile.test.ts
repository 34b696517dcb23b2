/**
 * Profiling (engine.startProfile / stopProfile, formatProfile, KDGPU_PROFILE): per-kernel rows
 * checked against the dispatches the engine actually recorded (a spy on engine.dispatch), FLOP
 * counts against their formulas, and that profiling leaves no trace once stopped.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import type { Engine, EngineStats, ProfileReport, Tensor } from '../src/index.js';
import { Profiler } from '../src/gpu/profiler.js';
import { setup } from './helpers.js';

const { nn } = kd;

interface Dispatched {
  name: string;
  flops: number | undefined;
}

/** Runs fn while logging every dispatch that records work (non-empty grids), as the engine sees it. */
function spyDispatches(e: Engine, fn: () => void): Dispatched[] {
  const log: Dispatched[] = [];
  const orig = e.dispatch;
  const spy: Engine['dispatch'] = function (this: Engine, kernel, buffers, uniforms, workgroups, flops) {
    const [x, y = 1, z = 1] = workgroups;
    if (x > 0 && y > 0 && z > 0) log.push({ name: kernel.name, flops });
    return orig.call(this, kernel, buffers, uniforms, workgroups, flops);
  };
  (e as { dispatch: Engine['dispatch'] }).dispatch = spy;
  try {
    fn();
  } finally {
    delete (e as Partial<{ dispatch: Engine['dispatch'] }>).dispatch;
  }
  return log;
}

/** Counts compute passes and timestamped ones, by wrapping the device's command encoders. */
function spyPasses(e: Engine): { passes: number; timed: number; querySets: number; restore: () => void } {
  const d = e.device as GPUDevice & Record<string, unknown>;
  const counts = { passes: 0, timed: 0, querySets: 0, restore: () => {} };
  const createEncoder = d.createCommandEncoder;
  const createQuerySet = d.createQuerySet;
  d.createCommandEncoder = function (desc?: GPUCommandEncoderDescriptor) {
    const enc = createEncoder.call(d, desc);
    const begin = enc.beginComputePass;
    enc.beginComputePass = function (pd?: GPUComputePassDescriptor) {
      counts.passes++;
      if (pd?.timestampWrites) counts.timed++;
      return begin.call(enc, pd);
    };
    return enc;
  };
  d.createQuerySet = function (desc: GPUQuerySetDescriptor) {
    counts.querySets++;
    return createQuerySet.call(d, desc);
  };
  counts.restore = () => {
    Reflect.deleteProperty(d, 'createCommandEncoder');
    Reflect.deleteProperty(d, 'createQuerySet');
  };
  return counts;
}

function diff(a: EngineStats, b: EngineStats): EngineStats {
  const out = {} as EngineStats;
  for (const k of Object.keys(a) as (keyof EngineStats)[]) out[k] = b[k] - a[k];
  return out;
}

function byName(r: ProfileReport): Map<string, ProfileReport['kernels'][number]> {
  return new Map(r.kernels.map((k) => [k.name, k]));
}

// Timestamps: run where the adapter has them (`npm run test:swiftshader`; llvmpipe has none).
describe('profiling [needs timestamps]', function () {
  this.timeout(300_000);
  let e: Engine;
  before(async () => {
    e = await setup();
  });

  // A step with a matmul (A·W, W trained) and a convolution whose input and weight are both
  // trained (forward, input gradient, weight gradient), max pooling, and an Adam update.
  const [M, K, N] = [24, 40, 36];
  const [B, C, H, W, O] = [2, 3, 10, 12, 4];
  const OH = H - 2;
  const OW = W - 2;
  let a: Tensor, wm: Tensor, x: Tensor, wc: Tensor, opt: kd.nn.Adam;
  before(() => {
    a = kd.randn([M, K], { seed: 1 });
    wm = kd.randn([K, N], { seed: 2, requiresGrad: true });
    x = kd.randn([B, C, H, W], { seed: 3, requiresGrad: true });
    wc = kd.randn([O, C, 3, 3], { seed: 4, requiresGrad: true });
    opt = new nn.Adam([wm, x, wc], { lr: 1e-3 });
  });
  after(() => {
    opt.dispose();
    for (const t of [a, wm, x, wc]) t.dispose();
  });
  const step = (): void => {
    kd.tidy(() => {
      const l = kd.add(kd.mean(a.matmul(wm)), kd.mean(kd.maxPool2d(kd.conv2d(x, wc), { kernel: 2 })));
      opt.zeroGrad();
      l.backward();
    });
    opt.step();
  };
  const matmulFlops = 2 * M * N * K;
  const convFlops = 2 * B * O * OH * OW * C * 3 * 3;
  const poolFlops = B * O * (OH / 2) * (OW / 2) * 4;

  it('rows match the dispatches made: names, calls, positive times, shares, FLOPs; off again, nothing differs', async () => {
    step();
    step();
    step();
    await e.sync();

    const passes = spyPasses(e);
    let s0 = e.stats();
    const offLog = spyDispatches(e, step);
    await e.sync();
    const off = diff(s0, e.stats());
    const offPasses = { passes: passes.passes, timed: passes.timed, querySets: passes.querySets };
    const memBefore = e.memory();

    e.startProfile();
    expect(e.profileOptions).to.deep.equal({});
    passes.passes = passes.timed = 0;
    s0 = e.stats();
    const log = spyDispatches(e, step);
    const report = await e.stopProfile();
    const on = diff(s0, e.stats());
    const onPasses = { passes: passes.passes, timed: passes.timed };
    expect(e.profileOptions).to.equal(null);

    passes.passes = passes.timed = passes.querySets = 0;
    s0 = e.stats();
    spyDispatches(e, step);
    await e.sync();
    const after = diff(s0, e.stats());
    const afterPasses = { passes: passes.passes, timed: passes.timed, querySets: passes.querySets };
    passes.restore();

    // Rows: exactly the kernels dispatched, with their call counts and FLOP sums.
    const expected = new Map<string, { calls: number; flops: number | null }>();
    for (const d of log) {
      const r = expected.get(d.name) ?? { calls: 0, flops: null };
      r.calls++;
      if (d.flops !== undefined) r.flops = (r.flops ?? 0) + d.flops;
      expected.set(d.name, r);
    }
    expect(log.map((d) => d.name)).to.deep.equal(offLog.map((d) => d.name));
    const rows = byName(report);
    expect([...rows.keys()].sort()).to.deep.equal([...expected.keys()].sort());
    for (const [name, want] of expected) {
      const row = rows.get(name)!;
      expect(row.calls, name).to.equal(want.calls);
      expect(row.flops, name).to.equal(want.flops);
      expect(row.ns, name).to.be.greaterThan(0);
      if (want.flops !== null) expect(row.gflops, name).to.be.closeTo(want.flops / row.ns, 1e-9);
      else expect(row.gflops, name).to.equal(null);
    }
    expect(report.kernels.reduce((s, k) => s + k.calls, 0)).to.equal(on.dispatches);
    expect(report.steps).to.equal(1);
    expect(report.totalNs).to.equal(report.kernels.reduce((s, k) => s + k.ns, 0));
    expect(report.kernels.reduce((s, k) => s + k.share, 0)).to.be.closeTo(1, 1e-9);
    for (let i = 1; i < report.kernels.length; i++) expect(report.kernels[i - 1].ns).to.be.at.least(report.kernels[i].ns);

    // The kernels this step must use, with their FLOPs from the formulas (2 per multiply-add).
    const sumFlops = (prefix: string): number =>
      report.kernels.filter((k) => k.name.startsWith(prefix)).reduce((s, k) => s + (k.flops ?? 0), 0);
    const callsOf = (prefix: string): number => report.kernels.filter((k) => k.name.startsWith(prefix)).reduce((s, k) => s + k.calls, 0);
    // Forward and the gradient of the operand that needs one (backward skips A's: it needs none).
    expect(callsOf('matmul.'), JSON.stringify(report.kernels.map((k) => [k.name, k.calls]))).to.equal(2);
    expect(sumFlops('matmul.')).to.equal(2 * matmulFlops);
    expect(callsOf('conv2d.fwd.'), 'conv forward and input gradient').to.equal(2);
    expect(sumFlops('conv2d.fwd.')).to.equal(2 * convFlops);
    expect(callsOf('conv2d.gradWeight.')).to.equal(1);
    expect(sumFlops('conv2d.gradWeight.')).to.equal(convFlops);
    expect(sumFlops('pool2d.max.forward')).to.equal(poolFlops);
    expect(sumFlops('pool2d.max.backward')).to.equal(poolFlops);
    expect(callsOf('optimizer.adam'), 'one Adam update per parameter (vec4 or scalar variant)').to.equal(3);

    // Profiling adds no submission, pipeline or bind group; each dispatch gets its own timed pass.
    expect(on.submissions).to.equal(off.submissions);
    expect(on.pipelinesCreated).to.equal(off.pipelinesCreated);
    expect(on.bindGroupsCreated).to.equal(off.bindGroupsCreated);
    expect(on.dispatches).to.equal(off.dispatches);
    expect(onPasses.timed).to.equal(on.dispatches);
    // Off again: the same submissions, pipelines, passes as before profiling; no query sets.
    expect(after).to.deep.equal(off);
    expect(afterPasses).to.deep.equal(offPasses);
    expect(offPasses.timed).to.equal(0);
    expect(offPasses.querySets).to.equal(0);
    expect(offPasses.passes).to.be.lessThan(off.dispatches);
    // The profile's query sets and buffers are gone.
    expect(e.memory()).to.deep.equal(memBefore);
  });

  it('a lone matmul: one row with 2·batch·M·N·K FLOPs; results unchanged by profiling', async () => {
    const A = kd.randn([3, M, K], { seed: 5 });
    const ref = kd.noGrad(() => A.matmul(wm));
    const want = await ref.data();
    e.startProfile();
    const out = kd.noGrad(() => A.matmul(wm));
    const r = await e.stopProfile();
    expect(await out.data()).to.deep.equal(want);
    expect(r.kernels).to.have.length(1);
    const [row] = r.kernels;
    expect(row.name).to.match(/^matmul\./);
    expect(row.calls).to.equal(1);
    expect(row.flops).to.equal(2 * 3 * M * N * K);
    expect(row.share).to.equal(1);
    expect(r.steps).to.equal(undefined);
    for (const t of [A, ref, out]) t.dispose();
  });

  it('takeProfile reports and restarts; startProfile while running discards; formatProfile prints per step', async () => {
    e.startProfile();
    step();
    step();
    const two = await e.takeProfile();
    expect(two.steps).to.equal(2);
    step();
    e.startProfile(); // restart: the step above (timestamps possibly still in flight) is dropped
    const none = await e.takeProfile();
    expect(none.kernels).to.deep.equal([]);
    expect(none.totalNs).to.equal(0);
    step();
    const one = await e.stopProfile();
    expect(one.steps).to.equal(1);
    const twoRows = byName(two);
    for (const k of one.kernels) expect(twoRows.get(k.name)?.calls, k.name).to.equal(2 * k.calls);

    const text = kd.formatProfile(two, { top: 3 });
    const lines = text.split('\n');
    expect(lines[0]).to.equal('GPU time per step, mean of 2 steps');
    expect(lines[1]).to.match(/^kernel\s+calls\/step\s+ms\/step\s+share\s+GFLOP\/s$/);
    const top = two.kernels[0];
    const topLine = lines.find((l) => l.startsWith(`${top.name} `))!;
    expect(topLine).to.not.equal(undefined);
    expect(topLine.split(/\s+/)[1]).to.equal(String(top.calls / 2));
    expect(topLine.split(/\s+/)[2]).to.equal((top.ns / 2 / 1e6).toFixed(3));
    expect(text).to.contain(`(${two.kernels.length - 3} more kernels)`);
    const total = lines[lines.length - 1].split(/\s+/);
    expect(total.slice(0, 4)).to.deep.equal(['total', String(two.kernels.reduce((s, k) => s + k.calls, 0) / 2), (two.totalNs / 2 / 1e6).toFixed(3), '100.0%']);
    expect(kd.formatProfile(two, { perStep: 1 }).split('\n')[0]).to.equal('GPU time per step, mean of 1 step');
    expect(() => kd.formatProfile(two, { perStep: 0 })).to.throw('perStep');
  });

  it('fit prints one table per epoch when the profile has epochTables', async () => {
    const count = 32;
    const data: kd.ArrayDataset = { x: new Float32Array(count * 16).map((_, i) => Math.sin(i)), y: Int32Array.from({ length: count }, (_, i) => i % 3), sampleShape: [16], count, classes: 3 };
    const model = new nn.Sequential(new nn.Linear(16, 8, { rng: 1 }), new nn.ReLU(), new nn.Linear(8, 3, { rng: 2 }));
    const loader = new kd.GpuLoader(data, { batchSize: 16 });
    const o = new nn.Adam(model.parameters(), { lr: 1e-3 });
    const printed: string[] = [];
    const orig = console.error;
    console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    e.startProfile({ epochTables: true });
    try {
      await nn.fit(model, loader, { optimizer: o, epochs: 2, logEvery: 0 });
    } finally {
      console.error = orig;
      await e.stopProfile();
      loader.dispose();
      o.dispose();
      model.dispose();
    }
    expect(printed).to.have.length(2);
    expect(printed[0].split('\n')[0]).to.equal('kdgpu profile, epoch 1: GPU time per step, mean of 2 steps');
    expect(printed[1].split('\n')[0]).to.equal('kdgpu profile, epoch 2: GPU time per step, mean of 2 steps');
    expect(printed[0]).to.match(/\nmatmul\.\S+\s+\d/);
    // 4 parameters, one update each per step, split over the scalar and vec4 variants by size.
    const adamCalls = [...printed[0].matchAll(/\noptimizer\.adam\S*\s+(\d+)\s/g)].reduce((n, m) => n + Number(m[1]), 0);
    expect(adamCalls).to.equal(4);
  });

  it('KDGPU_PROFILE is parsed by the Node entry; a device without timestamp-query gets a clear error', () => {
    const saved = process.env.KDGPU_PROFILE;
    try {
      process.env.KDGPU_PROFILE = '1';
      expect(kd.profileFromEnv()).to.deep.equal({ epochTables: true });
      process.env.KDGPU_PROFILE = '0';
      expect(kd.profileFromEnv()).to.equal(undefined);
      delete process.env.KDGPU_PROFILE;
      expect(kd.profileFromEnv()).to.equal(undefined);
      process.env.KDGPU_PROFILE = 'yes';
      expect(() => kd.profileFromEnv()).to.throw("KDGPU_PROFILE is 'yes'");
    } finally {
      if (saved === undefined) delete process.env.KDGPU_PROFILE;
      else process.env.KDGPU_PROFILE = saved;
    }
    const bare = { features: new Set<string>() } as unknown as GPUDevice;
    expect(() => new Profiler(bare)).to.throw("profiling needs the WebGPU feature 'timestamp-query'");
    expect(e.device.features.has('timestamp-query'), 'the device was created with timestamp-query').to.equal(true);
  });
});
