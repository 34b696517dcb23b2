/**
 * The suite's measurement loop for one case: every framework ("peer") gets a runner, one warm-up
 * run, then repetitions alternating between the peers; each figure is the median wall-clock time.
 * A slow peer (tfjs-webgpu on a CPU adapter can take minutes per run) is held to a time budget:
 * when the case can be probed, one run at a fraction of the work (after a compiling run) is
 * extrapolated and the peer is skipped if that estimate exceeds the budget; otherwise it repeats
 * while its measured time stays under the budget (at least once). A peer that fails is reported
 * with its error; the other peers go on.
 */
import { median, timed, type Sample } from './timing.js';

export const PEERS = ['kdgpu', 'tfjs-webgpu', 'tfjs-wasm', 'torch-cpu'] as const;
export type Peer = (typeof PEERS)[number];

export const SECTIONS = ['matmul', 'conv', 'steps', 'distill', 'memory'] as const;
export type Section = (typeof SECTIONS)[number];

export interface Runner {
  /** One run, finished on its device; a peer that times itself (PyTorch) returns its sample. */
  run(): Promise<Sample | void>;
  dispose(): void | Promise<void>;
}

/** A runner at the case's full size, or (probe) at the reduced size the case's probeRatio refers to. */
export type RunnerFactory = (probe: boolean) => Promise<Runner>;

export interface SuiteCase {
  section: Section;
  name: string;
  /** FLOPs of one run (0 when not counted), for GFLOP/s. */
  flops: number;
  /** Work of a full run ÷ work of a probe run; absent: the case is not probed. */
  probeRatio?: number;
  peers: Partial<Record<Peer, RunnerFactory>>;
  note?: string;
}

export interface Measured {
  medianMs: number;
  /** Median GFLOP/s when the case counts FLOPs. */
  gflops: number | null;
  n: number;
  wallMs: number[];
  cpuMs: number[];
  warmupMs: number;
}
export type PeerResult = Measured | { skipped: string } | { error: string };

export interface CaseResult {
  section: Section;
  name: string;
  flops: number;
  note?: string;
  results: Partial<Record<Peer, PeerResult>>;
  /** Peer time ÷ kdgpu time (> 1: kdgpu is faster). */
  ratios: Partial<Record<Peer, number>>;
}

export interface HarnessOptions {
  reps: number;
  /** Peers held to `budgetMs` per case. */
  slow: ReadonlySet<Peer>;
  budgetMs: number;
  /** Probe slow peers first (off for smoke runs, whose sizes are already small). */
  probe: boolean;
  log: (line: string) => void;
}

export const isMeasured = (r: PeerResult | undefined): r is Measured => r !== undefined && 'medianMs' in r;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

async function timeRun(r: Runner): Promise<Sample> {
  let own: Sample | void = undefined;
  const outer = await timed(async () => {
    own = await r.run();
  });
  return own ?? outer;
}

export function fmtMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

export async function measureCase(c: SuiteCase, o: HarnessOptions): Promise<CaseResult> {
  const results: Partial<Record<Peer, PeerResult>> = {};
  const runners = new Map<Peer, Runner>();
  const samples = new Map<Peer, Sample[]>();
  const warm = new Map<Peer, number>();
  for (const peer of PEERS) {
    const make = c.peers[peer];
    if (!make) continue;
    try {
      if (o.probe && o.slow.has(peer) && c.probeRatio && c.probeRatio > 1) {
        const p = await make(true);
        let est: number;
        try {
          await p.run(); // compiles
          est = (await timeRun(p)).wallMs * c.probeRatio;
        } finally {
          await p.dispose();
        }
        if (est > o.budgetMs) {
          results[peer] = { skipped: `estimated ${(est / 1000).toFixed(0)} s per run (from a run at 1/${Math.round(c.probeRatio)} of the work) exceeds the ${o.budgetMs / 1000} s budget` };
          continue;
        }
      }
      const r = await make(false);
      runners.set(peer, r);
      warm.set(peer, (await timeRun(r)).wallMs);
      samples.set(peer, []);
    } catch (e) {
      results[peer] = { error: message(e) };
    }
  }
  for (let rep = 0; rep < o.reps; rep++) {
    for (const [peer, r] of runners) {
      const got = samples.get(peer)!;
      if (o.slow.has(peer) && got.length > 0 && got.reduce((s, x) => s + x.wallMs, 0) >= o.budgetMs) continue;
      try {
        got.push(await timeRun(r));
      } catch (e) {
        results[peer] = { error: message(e) };
        runners.delete(peer);
        await Promise.resolve(r.dispose()).catch(() => {});
      }
    }
  }
  for (const [peer, r] of runners) {
    await r.dispose();
    const s = samples.get(peer)!;
    const wall = s.map((x) => x.wallMs);
    results[peer] = {
      medianMs: median(wall),
      gflops: c.flops > 0 ? median(wall.map((w) => c.flops / (w * 1e6))) : null,
      n: s.length,
      wallMs: wall.map((w) => +w.toFixed(3)),
      cpuMs: s.map((x) => +x.cpuMs.toFixed(3)),
      warmupMs: +warm.get(peer)!.toFixed(3),
    };
  }
  const ratios: Partial<Record<Peer, number>> = {};
  const base = results.kdgpu;
  for (const peer of PEERS) {
    const r = results[peer];
    if (peer !== 'kdgpu' && isMeasured(base) && isMeasured(r)) ratios[peer] = r.medianMs / base.medianMs;
  }
  const cell = (p: Peer) => {
    const r = results[p];
    if (!r) return null;
    if ('skipped' in r) return `${p} skipped`;
    if ('error' in r) return `${p} error: ${r.error}`;
    return `${p} ${fmtMs(r.medianMs)} ms${r.n < o.reps ? ` (n=${r.n})` : ''}${r.gflops !== null && p === 'kdgpu' ? ` ${r.gflops.toFixed(2)} GFLOP/s` : ''}`;
  };
  o.log(`  ${c.name}: ${PEERS.map(cell).filter((x) => x).join(' | ')}`);
  return { section: c.section, name: c.name, flops: c.flops, ...(c.note ? { note: c.note } : {}), results, ratios };
}
