/**
 * Engine infrastructure: pipeline cache, WGSL error reporting, reflected uniform layouts, the
 * buffer pool (size classes, reuse, the upload hazard), counters, memory accounting, tensor
 * creation and readback.
 */
import { expect } from 'chai';
import * as kd from '../src/index.js';
import type { Engine, EngineMemory, Kernel } from '../src/index.js';
import { BufferPool, sizeClass, type PooledBuffer } from '../src/gpu/buffer-pool.js';
import { reflectKernel, writeUniforms } from '../src/gpu/reflect.js';
import { setup } from './helpers.js';

let uniq = 0;
/** A kernel no other test has compiled: out[i] = in[i] * k + c. */
function freshKernel(tag: string): Kernel {
  const n = ++uniq;
  return {
    name: `test.${tag}${n}`,
    source: `
struct Params { n: u32, k: f32, c: f32, }
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= p.n) { return; }
  dst[i] = src[i] * p.k + p.c + f32(${n}u) * 0.0;
}`,
  };
}

async function readF32(e: Engine, buf: PooledBuffer, n: number): Promise<number[]> {
  return Array.from(new Float32Array(await e.read(buf, n * 4)));
}

/** Awaits a promise that must reject; returns the Error. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(Error);
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('engine', () => {
  let e: Engine;
  before(async () => {
    e = await setup();
  });

  describe('pipeline cache', () => {
    it('compiles a kernel once, however often it runs', async () => {
      const k = freshKernel('cache');
      const src = e.upload(Float32Array.from([1, 2, 3, 4]));
      const p0 = e.stats().pipelinesCreated;
      const outs: PooledBuffer[] = [];
      for (let i = 0; i < 20; i++) {
        const dst = e.pool.acquire(16);
        e.dispatch(k, { src, dst }, { n: 4, k: 2, c: i }, [1]);
        outs.push(dst);
        if (i === 0) expect(e.stats().pipelinesCreated - p0, 'first dispatch').to.equal(1);
      }
      // A different Kernel object with the same WGSL and entry shares the pipeline.
      const dst2 = e.pool.acquire(16);
      e.dispatch({ name: 'test.cache-alias', source: k.source }, { src, dst: dst2 }, { n: 4, k: 3, c: 0 }, [1]);
      expect(e.stats().pipelinesCreated - p0).to.equal(1);
      expect(await readF32(e, outs[7], 4)).to.deep.equal([9, 11, 13, 15]);
      expect(await readF32(e, dst2, 4)).to.deep.equal([3, 6, 9, 12]);
      for (const b of [src, dst2, ...outs]) e.pool.release(b);
      await e.checkErrors();
    });

    it('ops reuse their pipelines: repeated ops create no pipeline and no bind group', async () => {
      const a = kd.tensor([1, 2, 3, 4, 5]);
      const b = kd.tensor([5, 4, 3, 2, 1]);
      const run = () =>
        kd.tidy(() => {
          const y = a.mul(b).add(1).relu().sum();
          return kd.keep(y);
        });
      // Warm-up: the pool hands buffers out last-in-first-out, so intermediates swap buffers
      // between consecutive steps; two steps see both assignments (and their bind groups).
      for (let i = 0; i < 3; i++) {
        const y = run();
        await y.item();
        y.dispose();
      }
      const s0 = e.stats();
      let last = 0;
      for (let i = 0; i < 10; i++) {
        const y = run();
        last = await y.item();
        y.dispose();
      }
      const s1 = e.stats();
      expect(s1.pipelinesCreated - s0.pipelinesCreated).to.equal(0);
      expect(s1.bindGroupsCreated - s0.bindGroupsCreated).to.equal(0);
      expect(s1.buffersCreated - s0.buffersCreated).to.equal(0);
      expect(last).to.equal(5 + 8 + 9 + 8 + 5 + 5);
      a.dispose();
      b.dispose();
    });
  });

  describe('WGSL errors', () => {
    const typeError: Kernel = {
      name: 'test.broken',
      source: `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() {
  let x: f32 = 1u;
  out[0] = x;
}`,
    };

    it('a type error rejects compileChecked with an Error naming the kernel and the WGSL line', async () => {
      const err = await rejection(e.compileChecked(typeError));
      expect(err.message).to.contain("'test.broken'");
      expect(err.message).to.match(/line 5:/);
      // Known broken: asking again, or dispatching it, reports the same error (not a silent success).
      const again = await rejection(e.compileChecked(typeError));
      expect(again.message).to.equal(err.message);
      const out = e.pool.acquire(16);
      expect(() => e.dispatch(typeError, { out }, null, [1])).to.throw(/test\.broken/);
      e.pool.release(out);
      // The engine is still usable, with no error left over.
      await e.checkErrors();
      const t = kd.tensor([1, 2, 3]).mul(3);
      expect(Array.from(await t.data())).to.deep.equal([3, 6, 9]);
      t.dispose();
    });

    it('a syntax error is caught by reflection, synchronously, naming the kernel', async () => {
      const syntax: Kernel = {
        name: 'test.syntax',
        source: `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main( {
  out[0] = 1.0;
}`,
      };
      const p0 = e.stats().pipelinesCreated;
      const out = e.pool.acquire(16);
      expect(() => e.dispatch(syntax, { out }, null, [1])).to.throw(Error, /kernel 'test\.syntax' does not parse/);
      e.pool.release(out);
      const err = await rejection(e.compileChecked(syntax));
      expect(err.message).to.contain("'test.syntax'");
      expect(e.stats().pipelinesCreated).to.equal(p0);
      await e.checkErrors();
    });

    it('a syntax error the reflection lets through is still reported by the driver', async () => {
      const sneaky: Kernel = {
        name: 'test.sneaky',
        source: `
@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() {
  let x = ;
  out[0] = 1.0;
}`,
      };
      const err = await rejection(e.compileChecked(sneaky));
      expect(err.message).to.contain("'test.sneaky'");
      await e.checkErrors();
    });

    it('a missing entry point and a missing buffer are errors naming the kernel', () => {
      const k = freshKernel('entry');
      expect(() => e.dispatch({ ...k, entry: 'nope' }, {}, null, [1])).to.throw(/'test\.entry\d+' has no @compute entry point 'nope'/);
      const src = e.pool.acquire(16);
      expect(() => e.dispatch(k, { src }, { n: 1 }, [1])).to.throw(/needs buffer 'dst'/);
      e.pool.release(src);
    });
  });

  describe('uniform layouts from reflection', () => {
    const source = `
struct Params {
  a: u32,
  b: f32,
  v: vec4<f32>,
  arr: array<vec4<u32>, 2>,
  w: vec3<f32>,
  c: i32,
}
@group(0) @binding(0) var<storage, read> unused: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(0) @binding(2) var<uniform> p: Params;
@compute @workgroup_size(8, 2)
fn main() {
  out[0] = p.a;
  out[1] = bitcast<u32>(p.b);
  for (var i = 0u; i < 4u; i++) { out[2u + i] = bitcast<u32>(p.v[i]); }
  for (var i = 0u; i < 8u; i++) { out[6u + i] = p.arr[i / 4u][i % 4u]; }
  for (var i = 0u; i < 3u; i++) { out[14u + i] = bitcast<u32>(p.w[i]); }
  out[17] = bitcast<u32>(p.c);
  out[18] = u32(arrayLength(&unused));
}`;

    it('match WGSL alignment rules for u32/f32/vec4/array<vec4<u32>,2>/vec3/i32 members', () => {
      const info = reflectKernel('test.layout', source, 'main');
      expect(info.workgroupSize).to.deep.equal([8, 2, 1]);
      expect(info.bindings.map((b) => [b.name, b.binding, b.kind])).to.deep.equal([
        ['unused', 0, 'read-only-storage'],
        ['out', 1, 'storage'],
        ['p', 2, 'uniform'],
      ]);
      const u = info.bindings[2].uniform!;
      expect(u.size).to.equal(80);
      const f = (n: string) => {
        const x = u.fields.get(n)!;
        return { offset: x.offset, scalar: x.scalar, length: x.length, strides: x.strides };
      };
      expect(f('a')).to.deep.equal({ offset: 0, scalar: 'u32', length: 1, strides: [0] });
      expect(f('b')).to.deep.equal({ offset: 4, scalar: 'f32', length: 1, strides: [0] });
      expect(f('v')).to.deep.equal({ offset: 16, scalar: 'f32', length: 4, strides: [0, 4, 8, 12] });
      expect(f('arr')).to.deep.equal({ offset: 32, scalar: 'u32', length: 8, strides: [0, 4, 8, 12, 16, 20, 24, 28] });
      expect(f('w')).to.deep.equal({ offset: 64, scalar: 'f32', length: 3, strides: [0, 4, 8] });
      expect(f('c')).to.deep.equal({ offset: 76, scalar: 'i32', length: 1, strides: [0] });
    });

    it('writeUniforms follows the layout and rejects unknown fields and too many values', () => {
      const u = reflectKernel('test.layout', source, 'main').bindings[2].uniform!;
      const view = new DataView(new ArrayBuffer(512));
      writeUniforms('test.layout', u, { a: 7, b: 1.5, arr: [1, 2, 3, 4, 5], c: -2 }, view, 256);
      expect(view.getUint32(256, true)).to.equal(7);
      expect(view.getFloat32(260, true)).to.equal(1.5);
      expect([0, 1, 2, 3, 4].map((i) => view.getUint32(256 + 32 + 4 * i, true))).to.deep.equal([1, 2, 3, 4, 5]);
      expect(view.getInt32(256 + 76, true)).to.equal(-2);
      expect(() => writeUniforms('test.layout', u, { nope: 1 }, view, 0)).to.throw(/no uniform field 'nope'/);
      expect(() => writeUniforms('test.layout', u, { v: [1, 2, 3, 4, 5] }, view, 0)).to.throw(/holds 4 values, got 5/);
    });

    it('the GPU sees exactly the values written (and zeros for fields left unset)', async () => {
      const k: Kernel = { name: 'test.layout', source };
      const unused = e.upload(new Float32Array(5));
      const out = e.pool.acquire(19 * 4);
      const bits = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
      e.dispatch(k, { unused, out }, { a: 0xfffffffe, b: -2.25, v: [1, 2.5, -3, 4e10], arr: [10, 11, 12, 13, 14, 15, 16, 0x80000000], w: [0.5, 0.25, 0.125], c: -7 }, [1]);
      const got = Array.from(new Uint32Array(await e.read(out, 19 * 4)));
      expect(got).to.deep.equal([
        0xfffffffe,
        bits(-2.25),
        ...[1, 2.5, -3, 4e10].map(bits),
        10, 11, 12, 13, 14, 15, 16, 0x80000000,
        ...[0.5, 0.25, 0.125].map(bits),
        -7 >>> 0,
        // unused is 5 floats, in a buffer of the pool's smallest size class (256 bytes).
        64,
      ]);
      // Same uniform slot in the next submission, only `a` set: nothing stale may remain.
      e.dispatch(k, { unused, out }, { a: 3 }, [1]);
      const again = Array.from(new Uint32Array(await e.read(out, 18 * 4)));
      expect(again).to.deep.equal([3, ...new Array(17).fill(0)]);
      e.pool.release(unused);
      e.pool.release(out);
    });
  });

  describe('buffer pool', () => {
    it('sizeClass: 1, 1.25, 1.5, 1.75 × a power of two, at least 256 bytes, at most 25% over', () => {
      const table: [number, number][] = [
        [0, 256], [1, 256], [256, 256], [257, 320], [320, 320], [321, 384], [448, 448], [449, 512],
        [1000, 1024], [1025, 1280], [4096, 4096], [4097, 5120], [6000, 6144], [7169, 8192],
        [12000, 12288], [1 << 20, 1 << 20], [(1 << 20) + 1, 1.25 * (1 << 20)],
      ];
      for (const [bytes, cls] of table) expect(sizeClass(bytes), `sizeClass(${bytes})`).to.equal(cls);
      let prev = 0;
      for (let bytes = 1; bytes < 300_000; bytes += 1 + (bytes >> 6)) {
        const c = sizeClass(bytes);
        const rounded = Math.ceil(bytes / 16) * 16;
        expect(c).to.be.at.least(Math.max(256, bytes));
        expect(c % 16).to.equal(0);
        if (bytes >= 256) expect(c).to.be.at.most(1.25 * rounded);
        expect(c).to.be.at.least(prev);
        prev = c;
      }
    });

    it('never makes a buffer larger than one binding: rounds down to the limit, refuses past it', () => {
      // llvmpipe binds 128 MiB per storage buffer; here a pool with a 1,000-byte limit stands in.
      const small = new BufferPool(e.device, 1000);
      const a = small.acquire(900); // its size class, 1,024, would not bind
      expect(a.size).to.equal(900);
      expect(small.acquire(700).size).to.equal(768);
      expect(() => small.acquire(1001)).to.throw(/cannot allocate 1001 bytes on the GPU: the adapter binds at most 1000 bytes per buffer/);
      const lim = e.device.limits;
      expect(() => e.pool.acquire(Math.min(lim.maxBufferSize, lim.maxStorageBufferBindingSize) + 4)).to.throw(/binds at most/);
    });

    it('reuses a released buffer for any request of the same size class, and only that class', () => {
      const created0 = e.pool.created;
      const a = e.pool.acquire(1000);
      expect(a.size).to.equal(1024);
      const m1 = e.memory();
      e.pool.release(a);
      const m2 = e.memory();
      expect(m2.liveBuffers).to.equal(m1.liveBuffers - 1);
      expect(m2.liveBytes).to.equal(m1.liveBytes - 1024);
      expect(m2.pooledBuffers).to.equal(m1.pooledBuffers + 1);
      expect(m2.pooledBytes).to.equal(m1.pooledBytes + 1024);
      const b = e.pool.acquire(900); // class 1024 too
      expect(b.id).to.equal(a.id);
      expect(b.buffer).to.equal(a.buffer);
      e.pool.release(b);
      const c = e.pool.acquire(1100); // class 1280
      expect(c.id).not.to.equal(a.id);
      expect(c.size).to.equal(1280);
      e.pool.release(c);
      expect(() => e.pool.release(c)).to.throw(/released twice/);
      const createdNow = e.pool.created - created0;
      expect(createdNow).to.be.at.most(2);
      // With cleanBefore, a buffer touched in that epoch does not qualify.
      const d = e.pool.acquire(1000);
      d.lastUse = e.epoch;
      e.pool.release(d);
      const f = e.pool.acquire(1000, e.epoch);
      expect(f.id).not.to.equal(d.id);
      const g = e.pool.acquire(1000);
      expect(g.id).to.equal(d.id);
      e.pool.release(f);
      e.pool.release(g);
    });

    it('refuses sizes beyond maxBufferSize with a clear error', () => {
      expect(() => e.pool.acquire(e.limits.maxBufferSize * 2)).to.throw(/maxBufferSize/);
    });

    // The hazard: queue.writeBuffer runs before commands that are recorded but not yet submitted.
    // An upload into a buffer that pending work still reads (or writes) would corrupt that work.
    it('an upload never reuses a buffer that pending work reads', async () => {
      const N = 3000; // 12,000 bytes: size class 12,288, which nothing else here uses
      const A = Float32Array.from({ length: N }, (_, i) => i + 1);
      const B = Float32Array.from({ length: N }, (_, i) => -(i + 1) * 1000);
      const x = kd.tensor(A);
      await e.sync(); // x's upload is done; x is touched by nothing pending
      const y = x.mul(2); // recorded, not submitted: reads x's buffer
      const xBuffer = x.bufferFor('test');
      x.dispose(); // x's buffer goes back to the pool while y's kernel still needs it
      const z = kd.tensor(B); // same size class: must not get x's buffer before the flush
      const yv = await y.data();
      for (let i = 0; i < N; i++) if (yv[i] !== 2 * (i + 1)) expect.fail(`y[${i}] = ${yv[i]}, expected ${2 * (i + 1)}`);
      expect(Array.from(await z.data())).to.deep.equal(Array.from(B));
      expect(z.bufferFor('test')).not.to.equal(xBuffer);
      // After the submission, the same buffer is fine for uploads again.
      z.dispose();
      y.dispose();
      await e.sync();
      const w = kd.tensor(A);
      expect(Array.from(await w.data())).to.deep.equal(Array.from(A));
      w.dispose();
    });

    it('an upload never reuses a buffer that pending work writes', async () => {
      const N = 3000;
      const A = Float32Array.from({ length: N }, (_, i) => i % 17);
      const B = new Float32Array(N).fill(-5);
      const x = kd.tensor(A);
      await e.sync();
      const y = x.add(1); // pending: writes y's buffer
      const w = y.mul(3); // pending: reads y's buffer
      y.dispose();
      const z = kd.tensor(B);
      const wv = await w.data();
      for (let i = 0; i < N; i++) if (wv[i] !== 3 * ((i % 17) + 1)) expect.fail(`w[${i}] = ${wv[i]}, expected ${3 * ((i % 17) + 1)}`);
      expect(Array.from(await z.data())).to.deep.equal(Array.from(B));
      for (const t of [x, w, z]) t.dispose();
    });
  });

  describe('counters and memory', () => {
    it('a readback is one submission and one mapAsync; flush and sync submit only pending work', async () => {
      const a = kd.tensor([1, 2, 3]);
      await e.sync();
      let s = e.stats();
      const b = a.add(10);
      expect(e.stats().dispatches - s.dispatches).to.equal(1);
      expect(e.stats().submissions - s.submissions).to.equal(0);
      expect(Array.from(await b.data())).to.deep.equal([11, 12, 13]);
      expect(e.stats().submissions - s.submissions).to.equal(1);
      expect(e.stats().mapAsyncCalls - s.mapAsyncCalls).to.equal(1);

      // Nothing pending: a readback still costs exactly one submission (the copy) and one map.
      s = e.stats();
      expect(await b.array()).to.deep.equal([11, 12, 13]);
      expect(e.stats().submissions - s.submissions).to.equal(1);
      expect(e.stats().mapAsyncCalls - s.mapAsyncCalls).to.equal(1);

      s = e.stats();
      e.flush();
      await e.sync();
      expect(e.stats().submissions - s.submissions).to.equal(0);
      const c = b.mul(2);
      e.flush();
      e.flush();
      expect(e.stats().submissions - s.submissions).to.equal(1);
      expect(e.stats().mapAsyncCalls - s.mapAsyncCalls).to.equal(0);
      s = e.stats();
      const d = kd.tensor(new Float32Array(10));
      expect(e.stats().uploads - s.uploads).to.equal(1);
      expect(e.stats().submissions - s.submissions).to.equal(0);
      for (const t of [a, b, c, d]) t.dispose();
    });

    it('engine.memory() returns to its baseline after tensors are disposed (and after tidy)', async () => {
      const work = () => {
        const a = kd.randn([33, 17], { seed: 5 });
        const b = kd.randn([17, 9], { seed: 6 });
        const ab = kd.matmul(a, b);
        const c = ab.relu();
        const s = c.sum(1);
        const d = s.add(1);
        return [a, b, ab, c, s, d];
      };
      // Warm up: same sizes read once, so staging buffers exist; pooled buffers freed.
      const warm = work();
      await warm[3].data();
      await warm[5].data();
      for (const t of warm) t.dispose();
      await e.trim();
      const base: EngineMemory = e.memory();
      expect(base.pooledBuffers).to.equal(0);

      const ts = work();
      await ts[3].data();
      await ts[5].data();
      const during = e.memory();
      expect(during.liveBuffers).to.equal(base.liveBuffers + 6);
      for (const t of ts) t.dispose();
      const after = e.memory();
      expect(after.liveBuffers).to.equal(base.liveBuffers);
      expect(after.liveBytes).to.equal(base.liveBytes);
      expect(after.pooledBuffers).to.be.at.least(6);
      expect(after.internalBuffers).to.equal(base.internalBuffers);
      await e.trim();
      expect(e.memory()).to.deep.equal(base);

      // tidy: only the returned tensor survives.
      const kept = kd.tidy(() => work()[5]);
      expect(e.memory().liveBuffers).to.equal(base.liveBuffers + 1);
      expect(await kept.array()).to.have.length(33);
      kept.dispose();
      await e.trim();
      expect(e.memory()).to.deep.equal(base);
    });

    it('a loop that flushes but never reads back does not pile up pending error checks', async () => {
      const a = kd.tensor([1, 2, 3]);
      await e.sync();
      let most = 0;
      for (let i = 0; i < 300; i++) {
        const b = a.add(i);
        b.dispose();
        e.flush(); // two error scopes per submission
        await new Promise((r) => setImmediate(r)); // e.g. waiting for the next batch
        most = Math.max(most, e.pendingErrorChecks);
      }
      // Without self-removal they would be 600 here, kept until the next readback.
      expect(most).to.be.below(16);
      a.dispose();
      await e.sync();
      expect(e.pendingErrorChecks).to.equal(0);
    });

    it('a disposed tensor is refused by ops and readbacks with a message naming it', async () => {
      const t = kd.tensor([1, 2]);
      t.dispose();
      t.dispose(); // idempotent
      expect(t.isDisposed).to.equal(true);
      expect(() => t.add(1)).to.throw(/was disposed/);
      const err = await rejection(t.data());
      expect(err.message).to.match(/data: tensor #\d+ of shape \[2\] \(float32\) was disposed/);
    });
  });

  describe('creating and reading tensors', () => {
    it('from typed arrays (dtype follows the array), with an optional shape', async () => {
      const f = kd.tensor(Float32Array.from([1.5, -2, 3.25, 4, 5, 6]), [2, 3]);
      expect(f.dtype).to.equal('float32');
      expect(f.shape).to.deep.equal([2, 3]);
      expect(await f.array()).to.deep.equal([[1.5, -2, 3.25], [4, 5, 6]]);
      const i = kd.tensor(Int32Array.from([7, -8, 9]));
      expect(i.dtype).to.equal('int32');
      expect(i.shape).to.deep.equal([3]);
      const d = await i.data();
      expect(d).to.be.instanceOf(Int32Array);
      expect(Array.from(d)).to.deep.equal([7, -8, 9]);
      expect(() => kd.tensor(Float32Array.from([1, 2, 3]), [2, 2])).to.throw(/3 values do not fill shape \[2, 2\]/);
      f.dispose();
      i.dispose();
    });

    it('from nested arrays and numbers; ragged arrays are refused', async () => {
      const t = kd.tensor([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]);
      expect(t.shape).to.deep.equal([2, 2, 3]);
      expect(await t.array()).to.deep.equal([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]);
      const s = kd.tensor(2.5);
      expect(s.shape).to.deep.equal([]);
      expect(await s.array()).to.equal(2.5);
      expect(await s.item()).to.equal(2.5);
      const flatShaped = kd.tensor([1, 2, 3, 4, 5, 6], [3, 2]);
      expect(await flatShaped.array()).to.deep.equal([[1, 2], [3, 4], [5, 6]]);
      expect(() => kd.tensor([[1, 2], [3]])).to.throw(/ragged/);
      expect(() => kd.tensor([[1, 2], 3] as unknown as number[][])).to.throw(/ragged/);
      for (const x of [t, s, flatShaped]) x.dispose();
    });

    it('fills: full, zeros, ones, scalar, in float32 and int32, any length', async () => {
      const a = kd.full([3, 5], 7.5);
      expect(Array.from(await a.data())).to.deep.equal(new Array(15).fill(7.5));
      const z = kd.zeros([7]);
      expect(Array.from(await z.data())).to.deep.equal(new Array(7).fill(0));
      const o = kd.ones([2, 1, 3]);
      expect(await o.array()).to.deep.equal([[[1, 1, 1]], [[1, 1, 1]]]);
      const s = kd.scalar(-4);
      expect(s.shape).to.deep.equal([]);
      expect(await s.item()).to.equal(-4);
      const n = 100_003;
      const big = kd.full([n], 0.25);
      const bv = await big.data();
      expect(bv.length).to.equal(n);
      expect(bv.every((v) => v === 0.25)).to.equal(true);
      const iz = kd.full([9], -123456, { dtype: 'int32' });
      expect(iz.dtype).to.equal('int32');
      const iv = await iz.data();
      expect(iv).to.be.instanceOf(Int32Array);
      expect(Array.from(iv)).to.deep.equal(new Array(9).fill(-123456));
      const empty = kd.zeros([0, 3]);
      expect(empty.size).to.equal(0);
      expect((await empty.data()).length).to.equal(0);
      expect(await empty.array()).to.deep.equal([]);
      for (const t of [a, z, o, s, big, iz, empty]) t.dispose();
    });

    it('rand/randn: the same seed gives the same values; manualSeed makes unseeded calls reproducible', async () => {
      const a = await kd.rand([1000], { seed: 42 }).data();
      const b = await kd.rand([1000], { seed: 42 }).data();
      const c = await kd.rand([1000], { seed: 43 }).data();
      expect(Array.from(a)).to.deep.equal(Array.from(b));
      expect(Array.from(a)).not.to.deep.equal(Array.from(c));
      const n1 = await kd.randn([257], { seed: 9 }).data();
      const n2 = await kd.randn([257], { seed: 9 }).data();
      expect(Array.from(n1)).to.deep.equal(Array.from(n2));
      kd.manualSeed(1234);
      const g1 = [await kd.rand([5]).data(), await kd.randn([5]).data()];
      kd.manualSeed(1234);
      const g2 = [await kd.rand([5]).data(), await kd.randn([5]).data()];
      expect(g1.map((x) => Array.from(x))).to.deep.equal(g2.map((x) => Array.from(x)));
      // And the values are the seeded generator's (computed on the CPU, uploaded as float32).
      const r = new kd.Random(42);
      expect(Array.from(a.slice(0, 5))).to.deep.equal(Array.from({ length: 5 }, () => Math.fround(r.next())));
    });

    it('rand/randn: mean and std over 1e5 samples are right (also with low/high and mean/std)', async () => {
      const N = 100_000;
      const stats = (d: ArrayLike<number>) => {
        let s = 0;
        let s2 = 0;
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < d.length; i++) {
          s += d[i];
          s2 += d[i] * d[i];
          lo = Math.min(lo, d[i]);
          hi = Math.max(hi, d[i]);
        }
        const mean = s / d.length;
        return { mean, std: Math.sqrt(s2 / d.length - mean * mean), lo, hi };
      };
      const u = kd.rand([N], { seed: 1 });
      const us = stats(await u.data());
      // Standard errors: mean 0.29/√N ≈ 0.0009, std ≈ 0.0006 — the bounds are > 5σ.
      expect(us.mean).to.be.closeTo(0.5, 0.005);
      expect(us.std).to.be.closeTo(Math.sqrt(1 / 12), 0.004);
      expect(us.lo).to.be.at.least(0);
      expect(us.hi).to.be.below(1);
      // The GPU's own reduction agrees with the CPU.
      expect(await u.mean().item()).to.be.closeTo(us.mean, 1e-5);
      const u2 = stats(await kd.rand([N], { seed: 2, low: -3, high: 5 }).data());
      expect(u2.mean).to.be.closeTo(1, 0.04);
      expect(u2.std).to.be.closeTo(8 * Math.sqrt(1 / 12), 0.03);
      expect(u2.lo).to.be.at.least(-3);
      expect(u2.hi).to.be.below(5);
      const n = stats(await kd.randn([N], { seed: 3 }).data());
      expect(n.mean).to.be.closeTo(0, 0.02);
      expect(n.std).to.be.closeTo(1, 0.015);
      const n2 = stats(await kd.randn([N], { seed: 4, mean: 3, std: 0.5 }).data());
      expect(n2.mean).to.be.closeTo(3, 0.01);
      expect(n2.std).to.be.closeTo(0.5, 0.008);
    });

    it('item() needs exactly one element; array() follows the shape', async () => {
      const one = kd.tensor([[3.5]]);
      expect(await one.item()).to.equal(3.5);
      const many = kd.tensor([1, 2]);
      const err = await rejection(many.item());
      expect(err.message).to.match(/item: tensor of shape \[2\] has 2 elements, expected 1/);
      const t = kd.tensor(Float32Array.from({ length: 24 }, (_, i) => i), [2, 3, 4]);
      const arr = (await t.array()) as number[][][];
      expect(arr).to.have.length(2);
      expect(arr[1][2]).to.deep.equal([20, 21, 22, 23]);
      for (const x of [one, many, t]) x.dispose();
    });

    it('int32 tensors keep every 32-bit value exactly; non-integers and gradients are refused', async () => {
      const vals = [0, 1, -1, 16777217, -16777217, 2147483647, -2147483648, 123456789];
      const t = kd.tensor(vals, undefined, { dtype: 'int32' });
      expect(t.dtype).to.equal('int32');
      expect(Array.from(await t.data())).to.deep.equal(vals);
      const nested = kd.tensor([[1, 2], [3, 2147483647]], undefined, { dtype: 'int32' });
      expect(await nested.array()).to.deep.equal([[1, 2], [3, 2147483647]]);
      expect(() => kd.tensor([1.5], undefined, { dtype: 'int32' })).to.throw(/non-integer value 1.5/);
      expect(() => kd.tensor(Int32Array.from([1]), undefined, { requiresGrad: true })).to.throw(/only float32 tensors can require grad/);
      // Through the GPU: a copy and casts.
      const copy = t.clone();
      expect(Array.from(await copy.data())).to.deep.equal(vals);
      const small = kd.tensor([3, -4, 1000], undefined, { dtype: 'int32' });
      const f = small.cast('float32');
      expect(f.dtype).to.equal('float32');
      expect(Array.from(await f.data())).to.deep.equal([3, -4, 1000]);
      const back = kd.tensor([2.75, -2.75, 7]).cast('int32');
      expect(Array.from(await back.data())).to.deep.equal([2, -2, 7]);
      for (const x of [t, nested, copy, small, f, back]) x.dispose();
    });
  });
});
