/**
 * Node-only: the one way kdgpu writes a file. The bytes go to a temporary file in the same folder,
 * are flushed to disk (fsync), and the temporary file is renamed over the target, so a reader, a
 * kill or a full disk never leaves a half-written file where a good one was: the target holds
 * either its old bytes or all of the new ones.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Test hook: with KDGPU_TEST_PAUSE_WRITES set to a marker path, every atomic write stops after half
 * its bytes, creates the marker and waits there (for a test to kill the process at that point).
 */
function pauseHalfway(): void {
  const marker = process.env.KDGPU_TEST_PAUSE_WRITES;
  if (!marker) return;
  writeFileSync(marker, String(process.pid));
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
}

/** Writes `bytes` (or UTF-8 text) to `path` atomically: temporary file, fsync, rename. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    const half = bytes.length >> 1;
    writeAll(fd, bytes.subarray(0, half));
    pauseHalfway();
    writeAll(fd, bytes.subarray(half));
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    rmSync(tmp, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new Error(`kdgpu: cannot write ${path}: ${err.code ? `${err.code} (${err.message.replace(/^\w+: /, '')})` : err.message}`);
  }
  // The rename itself is durable once the folder is flushed; not every platform allows that.
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}
