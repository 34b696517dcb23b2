/**
 * Per-kernel GPU time from timestamp queries (`engine.startProfile()`, `KDGPU_PROFILE=1`).
 *
 * While profiling, the engine records every dispatch in a compute pass of its own whose
 * `timestampWrites` write the pass's start and end into a query set. At each submission the
 * used queries are resolved and copied into a mappable buffer in the same command encoder; after
 * the submit that buffer is mapped without blocking the next steps, and the times are summed per
 * kernel name. Query sets and buffers come in slots of 2,048 dispatches and are reused; stopping
 * the profile destroys them. With profiling off the engine never reaches this file.
 *
 * Times are what the device reports between the start and the end of each one-dispatch pass, so
 * they include the pass's own overhead and exclude the gaps between passes. Browsers quantize
 * timestamps (Chrome to 100 µs), so there only the sums over many calls mean much; kdgpu's Node
 * device asks Dawn for unquantized ones.
 *
 * Browser-safe: no Node built-in module.
 */
import { BufferUsage, MapMode } from './constants.js';

/** One kernel's row of a profile, all calls summed. */
export interface ProfileKernel {
  /** The Kernel's name, e.g. 'matmul.nn.8x8.wg16x8'. */
  name: string;
  /** Number of dispatches. */
  calls: number;
  /** GPU time of all calls, in nanoseconds. */
  ns: number;
  /** ns / totalNs. */
  share: number;
  /** Floating-point operations of the calls whose dispatch site counts them (2 per multiply-add); null when none does. */
  flops: number | null;
  /** flops per nanosecond of those calls (= GFLOP/s); null when flops is. */
  gflops: number | null;
}

/** Per-kernel GPU times collected by a profile (`Engine.takeProfile`/`stopProfile`). */
export interface ProfileReport {
  /** Optimizer steps taken while profiling (absent when there were none). */
  steps?: number;
  /** GPU time of all profiled dispatches, in nanoseconds. */
  totalNs: number;
  /** Sorted by time, longest first. */
  kernels: ProfileKernel[];
}

/** Options for `Engine.startProfile` (and `init`'s `profile`). */
export interface ProfileOptions {
  /**
   * `fit` prints a per-step table to stderr at the end of every epoch and starts the next
   * epoch's profile afresh (what `KDGPU_PROFILE=1` sets).
   */
  epochTables?: boolean;
}

/** The most queries a timestamp query set may hold (WebGPU). */
const QUERIES = 4096;
const SLOT_DISPATCHES = QUERIES / 2;
const SLOT_BYTES = QUERIES * 8;

interface Slot {
  querySet: GPUQuerySet;
  /** QUERY_RESOLVE target, copied into `read` (a resolve cannot target a mappable buffer). */
  resolve: GPUBuffer;
  read: GPUBuffer;
  names: string[];
  flops: number[];
  /** The profile generation each dispatch was recorded in (see restart). */
  gens: number[];
  used: number;
}

interface Row {
  calls: number;
  ns: number;
  flops: number;
  /** Calls whose dispatch site gave a FLOP count, and their ns (the denominator of GFLOP/s). */
  counted: number;
  flopsNs: number;
}

/** Throws unless `device` can write timestamps in compute passes. */
export function checkTimestampSupport(device: GPUDevice): void {
  if (!device.features.has('timestamp-query')) {
    throw new Error(
      "kdgpu: profiling needs the WebGPU feature 'timestamp-query', which this device lacks (the adapter does not offer it, or the device was created without requesting it)",
    );
  }
}

export class Profiler {
  /** Optimizer steps since the profile (or the last take()) began. */
  steps = 0;
  private free: Slot[] = [];
  /** Slots written by the command encoder being recorded, in order. */
  private recording: Slot[] = [];
  private slots = 0;
  private pending = new Set<Promise<void>>();
  private failure: Error | null = null;
  private rows = new Map<string, Row>();
  private gen = 0;

  constructor(
    private readonly device: GPUDevice,
    public options: ProfileOptions = {},
  ) {
    checkTimestampSupport(device);
  }

  /** GPU memory held by query-resolve and readback buffers (for Engine.memory). */
  get buffers(): number {
    return this.slots * 2;
  }
  get bytes(): number {
    return this.slots * 2 * SLOT_BYTES;
  }

  /** Begins a compute pass that timestamps its start and end for one dispatch of `name`. */
  beginPass(encoder: GPUCommandEncoder, name: string, flops: number | undefined): GPUComputePassEncoder {
    let slot = this.recording[this.recording.length - 1];
    if (!slot || slot.used === SLOT_DISPATCHES) {
      slot = this.takeSlot();
      this.recording.push(slot);
    }
    const i = slot.used++;
    slot.names[i] = name;
    slot.flops[i] = flops ?? -1;
    slot.gens[i] = this.gen;
    return encoder.beginComputePass({
      timestampWrites: { querySet: slot.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 },
    });
  }

  /** Records the resolve and copy of this encoder's timestamps; call just before finish(). */
  resolve(encoder: GPUCommandEncoder): void {
    for (const s of this.recording) {
      encoder.resolveQuerySet(s.querySet, 0, 2 * s.used, s.resolve, 0);
      encoder.copyBufferToBuffer(s.resolve, 0, s.read, 0, 16 * s.used);
    }
  }

  /** Starts reading back the timestamps resolved by the submission just made. */
  submitted(): void {
    for (const s of this.recording) {
      const bytes = 16 * s.used;
      const p: Promise<void> = s.read.mapAsync(MapMode.READ, 0, bytes).then(
        () => {
          this.pending.delete(p);
          const t = new BigUint64Array(s.read.getMappedRange(0, bytes));
          for (let i = 0; i < s.used; i++) {
            if (s.gens[i] !== this.gen) continue;
            const d = t[2 * i + 1] - t[2 * i];
            // A clock that steps backwards (some drivers, across cores) reads as zero, not negative.
            this.add(s.names[i], d > 0n ? Number(d) : 0, s.flops[i]);
          }
          s.read.unmap();
          s.used = 0;
          this.free.push(s);
        },
        (e: unknown) => {
          this.pending.delete(p);
          this.failure ??= new Error(`kdgpu: reading back profile timestamps failed: ${e instanceof Error ? e.message : String(e)}`);
          this.destroySlot(s);
        },
      );
      this.pending.add(p);
    }
    this.recording = [];
  }

  /** Waits for the timestamps of every submission made so far. */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
    if (this.failure) {
      const f = this.failure;
      this.failure = null;
      throw f;
    }
  }

  /** The report of what was read back so far; clears the sums and the step count. */
  take(): ProfileReport {
    let totalNs = 0;
    for (const r of this.rows.values()) totalNs += r.ns;
    const kernels: ProfileKernel[] = [...this.rows].map(([name, r]) => ({
      name,
      calls: r.calls,
      ns: r.ns,
      share: totalNs > 0 ? r.ns / totalNs : 0,
      flops: r.counted > 0 ? r.flops : null,
      gflops: r.counted > 0 && r.flopsNs > 0 ? r.flops / r.flopsNs : null,
    }));
    kernels.sort((a, b) => b.ns - a.ns || a.name.localeCompare(b.name));
    const report: ProfileReport = { totalNs, kernels };
    if (this.steps > 0) report.steps = this.steps;
    this.rows.clear();
    this.steps = 0;
    return report;
  }

  /** Drops what was collected, including dispatches whose timestamps are still on their way. */
  restart(options: ProfileOptions): void {
    this.options = options;
    this.gen++;
    this.rows.clear();
    this.steps = 0;
  }

  /** Frees the query sets and buffers; call after settle(), with nothing being recorded. */
  dispose(): void {
    for (const s of [...this.free, ...this.recording]) this.destroySlot(s);
    this.free = [];
    this.recording = [];
  }

  private add(name: string, ns: number, flops: number): void {
    let r = this.rows.get(name);
    if (!r) this.rows.set(name, (r = { calls: 0, ns: 0, flops: 0, counted: 0, flopsNs: 0 }));
    r.calls++;
    r.ns += ns;
    if (flops >= 0) {
      r.flops += flops;
      r.counted++;
      r.flopsNs += ns;
    }
  }

  private takeSlot(): Slot {
    const s = this.free.pop();
    if (s) return s;
    this.slots++;
    return {
      querySet: this.device.createQuerySet({ type: 'timestamp', count: QUERIES, label: 'kdgpu profile' }),
      resolve: this.device.createBuffer({ size: SLOT_BYTES, usage: BufferUsage.QUERY_RESOLVE | BufferUsage.COPY_SRC, label: 'kdgpu profile resolve' }),
      read: this.device.createBuffer({ size: SLOT_BYTES, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST, label: 'kdgpu profile read' }),
      names: [],
      flops: [],
      gens: [],
      used: 0,
    };
  }

  private destroySlot(s: Slot): void {
    s.querySet.destroy();
    s.resolve.destroy();
    s.read.destroy();
    this.slots--;
  }
}

/** Options for `formatProfile`. */
export interface FormatProfileOptions {
  /**
   * Divide calls and times by this many steps (default: the report's `steps`; without either the
   * table shows totals).
   */
  perStep?: number;
  /** Rows to show, longest first (default 15); the rest are summed in one row. */
  top?: number;
  /** A line printed above the table. */
  title?: string;
}

/** The report as a text table: calls, ms and share of the total GPU time, GFLOP/s per kernel. */
export function formatProfile(report: ProfileReport, opts: FormatProfileOptions = {}): string {
  const steps = opts.perStep ?? report.steps ?? 0;
  if (opts.perStep !== undefined && !(opts.perStep > 0)) throw new Error(`kdgpu: formatProfile: perStep must be > 0, got ${opts.perStep}`);
  const per = steps > 0 ? steps : 1;
  const unit = steps > 0 ? '/step' : '';
  const top = opts.top ?? 15;
  const shown = report.kernels.slice(0, top);
  const rest = report.kernels.slice(top);
  const rows: string[][] = shown.map((k) => [
    k.name,
    fmtCount(k.calls / per),
    (k.ns / per / 1e6).toFixed(3),
    `${(100 * k.share).toFixed(1)}%`,
    k.gflops === null ? '-' : fmtRate(k.gflops),
  ]);
  if (rest.length) {
    const ns = rest.reduce((s, k) => s + k.ns, 0);
    const calls = rest.reduce((s, k) => s + k.calls, 0);
    const share = rest.reduce((s, k) => s + k.share, 0);
    rows.push([`(${rest.length} more kernels)`, fmtCount(calls / per), (ns / per / 1e6).toFixed(3), `${(100 * share).toFixed(1)}%`, '']);
  }
  const totalCalls = report.kernels.reduce((s, k) => s + k.calls, 0);
  rows.push(['total', fmtCount(totalCalls / per), (report.totalNs / per / 1e6).toFixed(3), report.kernels.length ? '100.0%' : '-', '']);
  const head = ['kernel', `calls${unit}`, `ms${unit}`, 'share', 'GFLOP/s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const out: string[] = [];
  const what = steps > 0 ? `GPU time per step, mean of ${steps} step${steps === 1 ? '' : 's'}` : 'GPU time, all profiled work';
  out.push(opts.title ? `${opts.title}: ${what}` : what);
  out.push(line(head));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((r, i) => {
    if (i === rows.length - 1) out.push(widths.map((w) => '-'.repeat(w)).join('  '));
    out.push(line(r));
  });
  return out.join('\n');
}

function fmtRate(v: number): string {
  return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

function fmtCount(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
