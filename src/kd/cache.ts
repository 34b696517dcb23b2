/**
 * Teacher-output cache: a teacher's raw outputs (logits) for a whole dataset, computed once and
 * reused by every distillation epoch (and every T of a sweep, since logits do not depend on T).
 * The key hashes the teacher's weight *contents*, the dataset's contents and the input
 * transform/augmentation settings, so an edited teacher, another dataset or other settings
 * never get stale targets. Hashing reads the teacher back once per lookup; that is the price of
 * noticing in-place edits. With random augmentation each view differs: do not cache then.
 */
import { noGrad } from '../autograd/graph.js';
import { concat } from '../autograd/ops-shape.js';
import { keep } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { GpuLoader, type ArrayDataset } from '../data/dataset.js';
import { hashDataset, hashParts, hashWeights, stableJson } from './hash.js';
import type { Teacher } from './teacher.js';

/** What `TeacherCache.get` returns: the outputs and the key they were found or stored under. */
export interface CacheLookup {
  /** Raw teacher outputs, one row per dataset sample (owned by the cache). */
  raw: Tensor;
  /** The cache key (hex hash of the teacher, data and settings). */
  key: string;
  /** Whether the outputs were found rather than computed. */
  hit: boolean;
  /** Hash of the teacher's weights. */
  teacherHash: string;
  /** Hash of the dataset's contents. */
  dataHash: string;
}

/**
 * Teacher outputs for whole datasets, keyed by content hashes of the teacher, the data and the
 * transform settings; the least recently used entry is evicted (and disposed) past `maxEntries`.
 */
export class TeacherCache {
  private readonly entries = new Map<string, Tensor>();
  /** Lookups answered from the cache. */
  hits = 0;
  /** Lookups that ran the teacher. */
  misses = 0;

  constructor(
    /** Entries kept before the least recently used one is evicted. Default 8. */
    readonly maxEntries = 8,
  ) {}

  /** The cache key for (teacher, data, transform), with the teacher and data hashes it is made of. */
  async key(
    teacher: Teacher,
    data: ArrayDataset,
    transform: unknown = null,
  ): Promise<{
    /** The cache key (hex). */
    key: string;
    /** Hash of the teacher's weights. */
    teacherHash: string;
    /** Hash of the dataset's contents. */
    dataHash: string;
  }> {
    const [teacherHash, dataHash] = await Promise.all([hashWeights(teacher), hashDataset(data)]);
    // The module tree's descriptions too: views that change the forward pass without weights of
    // their own (e.g. a subclass collapse mode) must not share an entry.
    const structure = teacher.namedModules().map(([n, m]) => `${n}=${m.describe()}`);
    const key = await hashParts([teacherHash, dataHash, stableJson({ transform, combine: teacher.combine, members: teacher.size, structure })]);
    return { key, teacherHash, dataHash };
  }

  /** The teacher's raw outputs for `data`, computed now or found in the cache. */
  async get(teacher: Teacher, data: ArrayDataset, opts: { transform?: unknown; batchSize?: number } = {}): Promise<CacheLookup> {
    const k = await this.key(teacher, data, opts.transform ?? null);
    const found = this.entries.get(k.key);
    if (found) {
      this.hits++;
      // Refresh its place in the eviction order.
      this.entries.delete(k.key);
      this.entries.set(k.key, found);
      return { raw: found, hit: true, ...k };
    }
    this.misses++;
    const raw = computeRaw(teacher, data, opts.batchSize ?? 500);
    this.entries.set(k.key, raw);
    while (this.entries.size > this.maxEntries) {
      const [oldest, t] = this.entries.entries().next().value as [string, Tensor];
      this.entries.delete(oldest);
      t.dispose();
    }
    return { raw, hit: false, ...k };
  }

  /** Number of cached entries. */
  get size(): number {
    return this.entries.size;
  }

  /** Disposes every cached output and empties the cache. */
  clear(): void {
    for (const t of this.entries.values()) t.dispose();
    this.entries.clear();
  }
}

function computeRaw(teacher: Teacher, data: ArrayDataset, batchSize: number): Tensor {
  const loader = new GpuLoader(data, { batchSize });
  try {
    const parts: Tensor[] = [];
    for (const { x, y } of loader.epoch()) {
      parts.push(keep(teacher.raw(x)));
      x.dispose();
      y.dispose();
    }
    const all = parts.length === 1 ? parts[0] : keep(noGrad(() => concat(parts, 0)));
    if (parts.length > 1) for (const p of parts) p.dispose();
    return all;
  } finally {
    loader.dispose();
  }
}

/** The cache distillation uses when none is given. */
export const defaultTeacherCache = new TeacherCache();
