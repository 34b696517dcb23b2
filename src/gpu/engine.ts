/**
 * The engine owns one GPUDevice and everything that talks to it: the buffer pool, compiled
 * pipelines, the pending command encoder, uniforms, readbacks, error scopes and counters.
 *
 * Work is recorded into one open compute pass and submitted lazily: at a readback, at an explicit
 * `flush()` (an optimizer step ends with one), or past a safety limit of pending dispatches.
 * Uniforms of all dispatches of a submission go into 64 KiB chunks bound with dynamic offsets, so
 * bind groups can be cached per (kernel, buffers) and reused by every step of a training loop.
 * While a profile runs (startProfile), each dispatch gets a timestamped pass of its own instead
 * (see profiler.ts); otherwise the profiler costs one null check per dispatch and submission.
 */
import type { AdapterDescription } from './adapter.js';
import { BufferPool, type PooledBuffer } from './buffer-pool.js';
import { Profiler, type ProfileOptions, type ProfileReport } from './profiler.js';
import { BufferUsage, MapMode, ShaderStage } from './constants.js';
import { reflectKernel, writeUniforms, type KernelInfo } from './reflect.js';

/** A compute kernel: WGSL source and its entry point, compiled once per engine. */
export interface Kernel {
  /** Names the kernel in errors and profiles, e.g. 'matmul.nn.vec4'. */
  readonly name: string;
  /** WGSL source. */
  readonly source: string;
  /** Entry point (default 'main'). */
  readonly entry?: string;
}

/** Values for the fields of a kernel's uniform struct, by field name (arrays for array/vector fields). */
export type UniformValues = Record<string, number | ArrayLike<number>>;

/** Cumulative counters since the engine was created (see `Engine.stats`). */
export interface EngineStats {
  /** Queue submissions. */
  submissions: number;
  /** Readbacks (buffer maps). */
  mapAsyncCalls: number;
  /** GPU buffers created: pool, uniform, staging and check buffers. */
  buffersCreated: number;
  /** Bind groups created (cache misses). */
  bindGroupsCreated: number;
  /** Compute pipelines compiled. */
  pipelinesCreated: number;
  /** Kernel dispatches recorded. */
  dispatches: number;
  /** Writes from the CPU (`upload`, `writeInto`). */
  uploads: number;
}

/** GPU memory held by the engine, in buffers and bytes (see `Engine.memory`). */
export interface EngineMemory {
  /** Buffers held by live tensors. */
  liveBuffers: number;
  /** Bytes of the live buffers (their size classes). */
  liveBytes: number;
  /** Released buffers kept for reuse. */
  pooledBuffers: number;
  /** Bytes of the pooled buffers. */
  pooledBytes: number;
  /** Uniform chunks and readback staging buffers. */
  internalBuffers: number;
  /** Bytes of the internal buffers. */
  internalBytes: number;
}

interface Compiled {
  id: number;
  name: string;
  entry: string;
  source: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  info: KernelInfo;
  /** The driver's compile error, once reported: later uses of the kernel throw it again. */
  error: Error | null;
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment on every adapter we know
const UNIFORM_CHUNK = 64 * 1024; // maxUniformBufferBindingSize's guaranteed minimum
const MAX_PENDING_DISPATCHES = 8192;
const MAX_BIND_GROUPS = 16384;

interface UniformChunk {
  id: number;
  buffer: GPUBuffer;
  mirror: Uint8Array;
  view: DataView;
  used: number;
}

const FLAG_WORDS = 8;
const FLAG_BYTES = FLAG_WORDS * 4;
const deviceChecks: ((record: Uint32Array) => Error)[] = [];

/**
 * Registers a device-side check (see Engine.errorFlags) and returns its code, the non-zero value
 * its kernel writes into word 0 of the record. `decode` builds the Error from the record's eight
 * words (word 0 is the code).
 */
export function registerDeviceCheck(decode: (record: Uint32Array) => Error): number {
  deviceChecks.push(decode);
  return deviceChecks.length;
}

let compileListener: ((name: string, entry: string, source: string) => void) | null = null;

/**
 * Calls `fn` with every kernel an engine compiles (name, entry point, WGSL), e.g. to dump the
 * generated sources (KDGPU_DUMP_WGSL, Node); null removes it.
 */
export function setCompileListener(fn: ((name: string, entry: string, source: string) => void) | null): void {
  compileListener = fn;
}

/**
 * Owns a GPUDevice: compiles kernels, records and submits dispatches, pools buffers and reads
 * results back. Get the current one with `engine()` after `init()`.
 */
export class Engine {
  /** The storage buffers of tensors and kernel outputs, reused by size class. */
  readonly pool: BufferPool;
  /** The device's limits. */
  readonly limits: GPUSupportedLimits;
  private compiled = new Map<string, Compiled>();
  /** Fast path by kernel object: hashing a long WGSL source on every dispatch is measurable. */
  private compiledByKernel = new WeakMap<Kernel, Compiled>();
  private bindGroups = new Map<string, GPUBindGroup>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingDispatches = 0;
  private chunks: UniformChunk[] = [];
  private chunkIndex = 0;
  private staging = new Map<number, GPUBuffer[]>();
  /** Device-side check record (see errorFlags); armed while some recorded work may write it. */
  private flags: PooledBuffer | null = null;
  private flagsArmed = false;
  private stagingCount = 0;
  private stagingBytes = 0;
  private nextInternalId = 1_000_000_000;
  /** Unsettled error checks; each removes itself when settled, so a loop that never reads back
   * (and never calls checkErrors) does not accumulate them. */
  private pendingChecks = new Set<Promise<void>>();
  private errors: { seq: number; error: Error }[] = [];
  private errorSeq = 0;
  private lostReason: string | null = null;
  /** Non-null while a profile runs. */
  private profiler: Profiler | null = null;
  private counters = {
    submissions: 0,
    mapAsyncCalls: 0,
    otherBuffersCreated: 0,
    bindGroupsCreated: 0,
    pipelinesCreated: 0,
    dispatches: 0,
    uploads: 0,
  };
  /** Increments at every submission; see PooledBuffer.lastUse. */
  epoch = 0;
  /** Whether the device has WGSL subgroup operations (kernels may pick variants that use them). */
  readonly subgroups: boolean;

  constructor(
    /** The WebGPU device. */
    readonly device: GPUDevice,
    /** The adapter the device was created on. */
    readonly adapter: AdapterDescription,
  ) {
    this.limits = device.limits;
    this.subgroups = device.features.has('subgroups');
    this.pool = new BufferPool(device, Math.min(device.limits.maxBufferSize, device.limits.maxStorageBufferBindingSize));
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.lostReason = info.message || String(info.reason);
    });
  }

  // ---- counters -------------------------------------------------------------------------

  /** Counters of GPU work since the engine was created. */
  stats(): EngineStats {
    const c = this.counters;
    return {
      submissions: c.submissions,
      mapAsyncCalls: c.mapAsyncCalls,
      buffersCreated: this.pool.created + c.otherBuffersCreated,
      bindGroupsCreated: c.bindGroupsCreated,
      pipelinesCreated: c.pipelinesCreated,
      dispatches: c.dispatches,
      uploads: c.uploads,
    };
  }

  /** Buffers and bytes currently held: by live tensors, in the pool, and internally. */
  memory(): EngineMemory {
    const chunkBytes = this.chunks.length * UNIFORM_CHUNK;
    const prof = this.profiler;
    return {
      liveBuffers: this.pool.liveBuffers,
      liveBytes: this.pool.liveBytes,
      pooledBuffers: this.pool.pooledBuffers,
      pooledBytes: this.pool.pooledBytes,
      internalBuffers: this.chunks.length + this.stagingCount + (this.flags ? 1 : 0) + (prof ? prof.buffers : 0),
      internalBytes: chunkBytes + this.stagingBytes + (this.flags ? FLAG_BYTES : 0) + (prof ? prof.bytes : 0),
    };
  }

  // ---- kernels ----------------------------------------------------------------------------

  private checkAlive(): void {
    if (this.lostReason !== null) throw new Error(`kdgpu: the GPU device was lost: ${this.lostReason}`);
  }

  /** Compiles (once) and returns a kernel's pipeline; WGSL errors surface as thrown errors. */
  private compile(kernel: Kernel): Compiled {
    const entry = kernel.entry ?? 'main';
    let hit = this.compiledByKernel.get(kernel);
    if (!hit || hit.source !== kernel.source || hit.entry !== entry) {
      hit = this.compiled.get(`${entry}\u0000${kernel.source}`);
      if (hit) this.compiledByKernel.set(kernel, hit);
    }
    if (hit) {
      if (hit.error) throw new Error(hit.error.message);
      return hit;
    }
    this.checkAlive();
    const info = reflectKernel(kernel.name, kernel.source, entry);
    compileListener?.(kernel.name, entry, kernel.source);
    const d = this.device;
    d.pushErrorScope('validation');
    const module = d.createShaderModule({ code: kernel.source, label: kernel.name });
    const layout = d.createBindGroupLayout({
      label: kernel.name,
      entries: info.bindings.map((b) => ({
        binding: b.binding,
        visibility: ShaderStage.COMPUTE,
        buffer:
          b.kind === 'uniform'
            ? { type: 'uniform' as GPUBufferBindingType, hasDynamicOffset: true }
            : { type: b.kind as GPUBufferBindingType },
      })),
    });
    const pipeline = d.createComputePipeline({
      label: kernel.name,
      layout: d.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: entry },
    });
    this.counters.pipelinesCreated++;
    const c: Compiled = {
      id: this.compiled.size + 1,
      name: kernel.name,
      entry,
      source: kernel.source,
      pipeline,
      layout,
      info,
      error: null,
    };
    this.watch(d.popErrorScope(), `compiling kernel '${kernel.name}'`, module, (err) => {
      c.error = err;
    });
    this.compiled.set(`${entry}\u0000${kernel.source}`, c);
    this.compiledByKernel.set(kernel, c);
    return c;
  }

  /**
   * Compiles a kernel and waits for the driver's verdict: rejects with the WGSL error messages
   * and the kernel's name. Ops compile lazily and report such errors at the next readback.
   */
  async compileChecked(kernel: Kernel): Promise<void> {
    this.compile(kernel);
    await this.checkErrors();
  }

  private watch(
    p: Promise<GPUError | null>,
    what: string,
    module?: GPUShaderModule,
    onError?: (error: Error) => void,
  ): void {
    // Errors are reported in the order their scopes were opened: a kernel's compile error comes
    // before the submission that failed because of it.
    const seq = this.errorSeq++;
    this.trackCheck(
      p.then(async (err) => {
        if (!err) return;
        let detail = err.message;
        if (module) {
          try {
            const ci = await module.getCompilationInfo();
            const msgs = ci.messages
              .filter((m) => m.type === 'error')
              .map((m) => `  line ${m.lineNum}:${m.linePos}: ${m.message}`);
            if (msgs.length) detail = `${msgs.join('\n')}\n${detail}`;
          } catch {
            /* compilation info is optional */
          }
        }
        const error = new Error(`kdgpu: GPU error while ${what}:\n${detail}`);
        onError?.(error);
        this.errors.push({ seq, error });
      }),
    );
  }

  /** Keeps `check` until it settles; a rejection is reported like a GPU error. */
  private trackCheck(check: Promise<void>): void {
    const seq = this.errorSeq++;
    const tracked: Promise<void> = check.then(
      () => {
        this.pendingChecks.delete(tracked);
      },
      (e: unknown) => {
        this.pendingChecks.delete(tracked);
        this.errors.push({ seq, error: e instanceof Error ? e : new Error(String(e)) });
      },
    );
    this.pendingChecks.add(tracked);
  }

  /** @internal number of GPU error checks not settled yet (bounded; for tests). */
  get pendingErrorChecks(): number {
    return this.pendingChecks.size;
  }

  /** Throws the first GPU error (WGSL compile, validation, out of memory) reported so far. */
  async checkErrors(): Promise<void> {
    while (this.pendingChecks.size) await Promise.all([...this.pendingChecks]);
    this.checkAlive();
    if (this.errors.length) {
      const first = this.errors.reduce((a, b) => (b.seq < a.seq ? b : a));
      this.errors = [];
      throw first.error;
    }
  }

  // ---- recording --------------------------------------------------------------------------

  private ensureEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.device.pushErrorScope('out-of-memory');
      this.device.pushErrorScope('validation');
      this.encoder = this.device.createCommandEncoder();
    }
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    const encoder = this.ensureEncoder();
    if (!this.pass) this.pass = encoder.beginComputePass();
    return this.pass;
  }

  private ensureEncoderNoPass(): GPUCommandEncoder {
    this.ensurePass();
    this.pass!.end();
    this.pass = null;
    return this.encoder!;
  }

  private uniformSlot(bytes: number): { chunk: UniformChunk; offset: number } {
    const need = Math.ceil(bytes / UNIFORM_SLOT) * UNIFORM_SLOT;
    if (need > UNIFORM_CHUNK) throw new Error(`kdgpu internal error: uniform struct of ${bytes} bytes`);
    let chunk = this.chunks[this.chunkIndex];
    if (chunk && chunk.used + need > UNIFORM_CHUNK) {
      this.chunkIndex++;
      chunk = this.chunks[this.chunkIndex];
    }
    if (!chunk) {
      const buffer = this.device.createBuffer({
        size: UNIFORM_CHUNK,
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
        label: 'kdgpu uniforms',
      });
      this.counters.otherBuffersCreated++;
      const mirror = new Uint8Array(UNIFORM_CHUNK);
      chunk = { id: this.nextInternalId++, buffer, mirror, view: new DataView(mirror.buffer), used: 0 };
      this.chunks.push(chunk);
    }
    const offset = chunk.used;
    chunk.used += need;
    // Stale bytes from an earlier submission must not leak into fields a kernel leaves unset.
    chunk.mirror.fill(0, offset, offset + need);
    return { chunk, offset };
  }

  /**
   * Records one dispatch. `buffers` maps the WGSL variable names of storage bindings to buffers;
   * `uniforms` gives values for the fields of the kernel's (single) uniform struct. `flops`, where
   * the caller knows it, is the dispatch's floating-point operation count (2 per multiply-add),
   * used only by profiles (GFLOP/s).
   */
  dispatch(
    kernel: Kernel,
    buffers: Record<string, PooledBuffer>,
    uniforms: UniformValues | null,
    workgroups: readonly [number, number?, number?],
    flops?: number,
  ): void {
    this.checkAlive();
    if (this.shapeOnlyDepth > 0) return;
    const c = this.compile(kernel);
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxGroups = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxGroups || y > maxGroups || z > maxGroups) {
      throw new Error(
        `kdgpu internal error: kernel '${c.name}' dispatch ${x}×${y}×${z} exceeds ${maxGroups} workgroups per dimension`,
      );
    }
    const prof = this.profiler;
    // The encoder (and its error scopes) must exist before the bind group is created, as below.
    let pass: GPUComputePassEncoder;
    if (prof === null) pass = this.ensurePass();
    else this.endPassForProfile();
    const entries: GPUBindGroupEntry[] = [];
    // Kernel and uniform-chunk parts are prefixed so that only buffer ids parse as numbers (trim).
    const keyParts: (number | string)[] = [`k${c.id}`];
    const dynamicOffsets: number[] = [];
    for (const b of c.info.bindings) {
      if (b.kind === 'uniform') {
        const { chunk, offset } = this.uniformSlot(b.uniform!.size);
        if (uniforms) writeUniforms(c.name, b.uniform!, uniforms, chunk.view, offset);
        entries.push({ binding: b.binding, resource: { buffer: chunk.buffer, size: b.uniform!.size } });
        keyParts.push(`u${chunk.id}`);
        dynamicOffsets.push(offset);
      } else {
        const buf = buffers[b.name];
        if (!buf) throw new Error(`kdgpu internal error: kernel '${c.name}' needs buffer '${b.name}'`);
        if (!buf.inUse) throw new Error(`kdgpu internal error: kernel '${c.name}' got released buffer '${b.name}'`);
        buf.lastUse = this.epoch;
        entries.push({ binding: b.binding, resource: { buffer: buf.buffer } });
        keyParts.push(buf.id);
      }
    }
    const key = keyParts.join(',');
    let bg = this.bindGroups.get(key);
    if (!bg) {
      if (this.bindGroups.size >= MAX_BIND_GROUPS) this.bindGroups.clear();
      bg = this.device.createBindGroup({ layout: c.layout, entries });
      this.bindGroups.set(key, bg);
      this.counters.bindGroupsCreated++;
    }
    if (prof !== null) pass = prof.beginPass(this.encoder!, c.name, flops);
    pass!.setPipeline(c.pipeline);
    pass!.setBindGroup(0, bg, dynamicOffsets);
    pass!.dispatchWorkgroups(x, y, z);
    if (prof !== null) pass!.end();
    this.counters.dispatches++;
    if (++this.pendingDispatches >= MAX_PENDING_DISPATCHES) this.flush();
  }

  /** Depth of nested `shapeOnly` calls; kernels are skipped while positive. */
  private shapeOnlyDepth = 0;

  /**
   * Runs `fn` with kernels skipped: ops still check shapes and allocate their outputs, but no
   * kernel is compiled or dispatched, so the values are garbage. Model summaries use it to trace
   * shapes through large models (a ResNet-50 at 224×224) in milliseconds instead of minutes.
   */
  shapeOnly<T>(fn: () => T): T {
    this.shapeOnlyDepth++;
    try {
      return fn();
    } finally {
      this.shapeOnlyDepth--;
    }
  }

  /** Copies `bytes` bytes between storage buffers, in order with the recorded dispatches. */
  copyBuffer(src: PooledBuffer, srcOffset: number, dst: PooledBuffer, dstOffset: number, bytes: number): void {
    if (this.shapeOnlyDepth > 0) return;
    if (bytes === 0) return;
    const enc = this.ensureEncoderNoPass();
    src.lastUse = this.epoch;
    dst.lastUse = this.epoch;
    enc.copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  /** A buffer holding `data`, written by the queue (so never one the pending work touches). */
  upload(data: ArrayBufferView): PooledBuffer {
    this.checkAlive();
    const buf = this.pool.acquire(Math.max(4, data.byteLength), this.epoch);
    if (data.byteLength > 0) {
      this.device.queue.writeBuffer(buf.buffer, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
    }
    buf.lastUse = this.epoch;
    this.counters.uploads++;
    return buf;
  }

  /**
   * Overwrites the start of an existing buffer with `data`, in order with the recorded work
   * (pending work that touches the buffer is submitted first).
   */
  writeInto(buf: PooledBuffer, data: ArrayBufferView): void {
    this.checkAlive();
    if (data.byteLength > buf.size) throw new Error(`kdgpu internal error: writing ${data.byteLength} bytes into a ${buf.size}-byte buffer`);
    if (buf.lastUse >= this.epoch && this.encoder) this.flush();
    if (data.byteLength > 0) {
      this.device.queue.writeBuffer(buf.buffer, 0, data.buffer, data.byteOffset, Math.ceil(data.byteLength / 4) * 4);
    }
    this.counters.uploads++;
  }

  /** Submits everything recorded so far as one queue submission. */
  flush(): void {
    if (!this.encoder) return;
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (this.profiler !== null) this.profiler.resolve(this.encoder);
    const cmd = this.encoder.finish();
    this.encoder = null;
    for (let i = 0; i <= this.chunkIndex && i < this.chunks.length; i++) {
      const ch = this.chunks[i];
      if (ch.used > 0) this.device.queue.writeBuffer(ch.buffer, 0, ch.mirror.buffer, 0, ch.used);
      ch.used = 0;
    }
    this.chunkIndex = 0;
    this.device.queue.submit([cmd]);
    if (this.profiler !== null) this.profiler.submitted();
    this.counters.submissions++;
    this.pendingDispatches = 0;
    this.epoch++;
    this.watch(this.device.popErrorScope(), 'running GPU work (validation)');
    this.watch(this.device.popErrorScope(), 'running GPU work (out of memory)');
  }

  /**
   * The engine's device-side check record, for a kernel that finds bad data the CPU never sees
   * (class labels out of range, say). Bind it as `var<storage, read_write> flags:
   * array<atomic<u32>, 8>`; the first failing invocation claims word 0 with the code that
   * `registerDeviceCheck` returned (compare-exchange from 0) and fills words 1–7 with details.
   * The record travels back with the next readback, in the same copy and mapAsync, so the check
   * costs a training loop without readbacks nothing; that readback then throws the check's Error
   * and the record is cleared. Call this for every dispatch that binds it.
   */
  errorFlags(): PooledBuffer {
    this.checkAlive();
    if (!this.flags) {
      const buffer = this.device.createBuffer({ size: FLAG_BYTES, usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST, label: 'kdgpu check flags' });
      this.counters.otherBuffersCreated++;
      this.device.queue.writeBuffer(buffer, 0, new Uint32Array(FLAG_WORDS));
      this.flags = { id: this.nextInternalId++, buffer, size: FLAG_BYTES, lastUse: -1, inUse: true };
    }
    this.flagsArmed = true;
    return this.flags;
  }

  /** A MAP_READ staging buffer of at least `size` bytes (size classes: powers of two ≥ 256). */
  private takeStaging(size: number): { staging: GPUBuffer; cls: number } {
    const cls = Math.max(256, 2 ** Math.ceil(Math.log2(size)));
    let list = this.staging.get(cls);
    if (!list) this.staging.set(cls, (list = []));
    let staging = list.pop();
    if (!staging) {
      staging = this.device.createBuffer({ size: cls, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
      this.counters.otherBuffersCreated++;
      this.stagingCount++;
      this.stagingBytes += cls;
    }
    return { staging, cls };
  }

  /** Reads `bytes` from the start of a buffer back to the CPU. */
  async read(buf: PooledBuffer, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive();
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    // The device-side check record, when armed, rides along after the data (see errorFlags).
    const flags = this.flagsArmed ? this.flags : null;
    const total = flags ? size + FLAG_BYTES : size;
    const { staging, cls } = this.takeStaging(total);
    const enc = this.ensureEncoderNoPass();
    buf.lastUse = this.epoch;
    enc.copyBufferToBuffer(buf.buffer, 0, staging, 0, size);
    if (flags) {
      flags.lastUse = this.epoch;
      enc.copyBufferToBuffer(flags.buffer, 0, staging, size, FLAG_BYTES);
      this.flagsArmed = false;
    }
    this.flush();
    this.counters.mapAsyncCalls++;
    try {
      await staging.mapAsync(MapMode.READ, 0, total);
    } catch (e) {
      await this.checkErrors();
      throw e;
    }
    const mapped = staging.getMappedRange(0, total);
    const out = mapped.slice(0, bytes);
    const record = flags ? new Uint32Array(mapped.slice(size, total)) : null;
    staging.unmap();
    this.staging.get(cls)!.push(staging);
    if (record && record[0] !== 0) {
      this.writeInto(flags!, new Uint32Array(FLAG_WORDS));
      const decode = deviceChecks[record[0] - 1];
      const error = decode ? decode(record) : new Error(`kdgpu internal error: unknown device check code ${record[0]}`);
      this.errors.push({ seq: this.errorSeq++, error });
    }
    await this.checkErrors();
    return out;
  }

  /** Waits until all submitted work has finished and reports any GPU error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /** Frees pooled buffers (not those of live tensors). */
  async trim(): Promise<void> {
    await this.sync();
    const ids = new Set(this.pool.trim());
    if (ids.size) {
      for (const key of [...this.bindGroups.keys()]) {
        if (key.split(',').some((p) => ids.has(Number(p)))) this.bindGroups.delete(key);
      }
    }
  }

  // ---- profiling --------------------------------------------------------------------------

  /** Profiling: an encoder with no open pass, as each dispatch opens its own timestamped one. */
  private endPassForProfile(): void {
    this.ensureEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /**
   * Starts recording per-kernel GPU time (timestamp queries): from here on every dispatch runs
   * in a compute pass of its own. Throws if the device lacks the 'timestamp-query' feature.
   * Called while a profile runs, it discards what was collected and starts afresh.
   */
  startProfile(options: ProfileOptions = {}): void {
    this.checkAlive();
    if (!this.device.features.has('timestamp-query') && this.adapter.kind === 'llvmpipe') {
      throw new Error(
        "kdgpu: profiling needs the WebGPU feature 'timestamp-query', which llvmpipe (Dawn's OpenGL ES backend) does not offer; profile on SwiftShader (KDGPU_ADAPTER=swiftshader) or on a GPU",
      );
    }
    if (this.profiler) this.profiler.restart(options);
    else this.profiler = new Profiler(this.device, options);
  }

  /** Whether a profile is running, and with which options (null when none). */
  get profileOptions(): ProfileOptions | null {
    return this.profiler ? this.profiler.options : null;
  }

  /** Counts a training step for the running profile (the optimizers call this). */
  markStep(): void {
    if (this.profiler !== null) this.profiler.steps++;
  }

  /**
   * The profile so far — submits pending work and waits for its timestamps — and clears it;
   * profiling goes on.
   */
  async takeProfile(): Promise<ProfileReport> {
    const prof = this.profiler;
    if (!prof) throw new Error('kdgpu: no profile is running; call engine.startProfile() first');
    this.flush();
    await prof.settle();
    return prof.take();
  }

  /** Ends the profile, frees its query sets and buffers, and returns its report. */
  async stopProfile(): Promise<ProfileReport> {
    const prof = this.profiler;
    if (!prof) throw new Error('kdgpu: no profile is running; call engine.startProfile() first');
    this.flush();
    this.profiler = null;
    try {
      await prof.settle();
    } finally {
      prof.dispose();
    }
    return prof.take();
  }

  /** Submits pending work and destroys the device; the engine is unusable afterwards. */
  destroy(): void {
    try {
      this.flush();
    } catch {
      /* destroying anyway */
    }
    this.device.destroy();
  }
}

/** Splits `groups` workgroups over x and y so neither exceeds the per-dimension limit. */
export function grid(groups: number, maxPerDim = 65535): [number, number] {
  if (groups <= maxPerDim) return [Math.max(groups, 0), 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y];
}
