/**
 * Reuses released GPU buffers by size class, so a steady training loop allocates nothing.
 *
 * Size classes are 1, 1.25, 1.5 and 1.75 times a power of two (at least 256 bytes): at most
 * 25% waste, and few enough classes that buffers of similar sizes find each other.
 */
import { BufferUsage } from './constants.js';

/** A storage buffer handed out by the BufferPool, with its bookkeeping. */
export interface PooledBuffer {
  /** Unique within the engine; keys cached bind groups. */
  readonly id: number;
  /** The GPU buffer (STORAGE | COPY_SRC | COPY_DST). */
  readonly buffer: GPUBuffer;
  /** Capacity in bytes (the size class), ≥ what was asked for. */
  readonly size: number;
  /**
   * Submission epoch in which the buffer was last touched by encoded GPU work. A buffer touched
   * by the still-pending encoder must not receive `queue.writeBuffer` (which would run before
   * the pending commands that read it).
   */
  lastUse: number;
  /** Held by a tensor or kernel output (false while it waits in the pool). */
  inUse: boolean;
}

export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 16) * 16);
  const p = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const c = p * f;
    if (c >= b) return c;
  }
  return 2 * p;
}

/** Reuses released GPU storage buffers by size class (1, 1.25, 1.5 or 1.75 × a power of two, ≥ 256 bytes). */
export class BufferPool {
  private free = new Map<number, PooledBuffer[]>();
  private nextId = 1;
  /** Buffers handed out and not yet released. */
  liveBuffers = 0;
  /** Bytes of the live buffers. */
  liveBytes = 0;
  /** Released buffers waiting for reuse. */
  pooledBuffers = 0;
  /** Bytes of the pooled buffers. */
  pooledBytes = 0;
  /** GPU buffers created so far. */
  created = 0;

  /**
   * @param maxBufferSize the largest buffer a kernel can use: every pooled buffer is bound whole as
   *   storage, so the smaller of the device's maxBufferSize and maxStorageBufferBindingSize.
   */
  constructor(
    private device: GPUDevice,
    private maxBufferSize: number,
  ) {}

  /**
   * Takes a buffer of at least `bytes`. With `cleanBefore`, only buffers last used before that
   * epoch qualify (they will be written by the queue, not by encoded commands).
   */
  acquire(bytes: number, cleanBefore?: number): PooledBuffer {
    if (bytes > this.maxBufferSize) {
      throw new Error(
        `kdgpu: cannot allocate ${bytes} bytes on the GPU: the adapter binds at most ${this.maxBufferSize} bytes per buffer (the smaller of its maxBufferSize and maxStorageBufferBindingSize)`,
      );
    }
    // A size class past the limit would only be rounding: then the exact size (4-byte aligned).
    const cls = sizeClass(bytes);
    const size = cls <= this.maxBufferSize ? cls : Math.ceil(bytes / 4) * 4;
    const list = this.free.get(size);
    if (list && list.length > 0) {
      let idx = list.length - 1;
      if (cleanBefore !== undefined) {
        while (idx >= 0 && list[idx].lastUse >= cleanBefore) idx--;
      }
      if (idx >= 0) {
        const buf = list[idx];
        list.splice(idx, 1);
        buf.inUse = true;
        this.pooledBuffers--;
        this.pooledBytes -= size;
        this.liveBuffers++;
        this.liveBytes += size;
        return buf;
      }
    }
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE });
    this.created++;
    this.liveBuffers++;
    this.liveBytes += size;
    return { id: this.nextId++, buffer, size, lastUse: -1, inUse: true };
  }

  /** Returns a buffer to the pool for reuse; releasing it twice is an error. */
  release(buf: PooledBuffer): void {
    if (!buf.inUse) throw new Error('kdgpu internal error: buffer released twice');
    buf.inUse = false;
    this.liveBuffers--;
    this.liveBytes -= buf.size;
    this.pooledBuffers++;
    this.pooledBytes += buf.size;
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
  }

  /** Destroys every pooled (unused) buffer. Only call with no pending GPU work. */
  trim(): number[] {
    const ids: number[] = [];
    for (const list of this.free.values()) {
      for (const b of list) {
        b.buffer.destroy();
        ids.push(b.id);
      }
    }
    this.free.clear();
    this.pooledBuffers = 0;
    this.pooledBytes = 0;
    return ids;
  }
}
