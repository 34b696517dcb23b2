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

/**
 * 'tfjs-wasm': the WASM backend in Node (one thread: Node cannot start its threaded build);
 * 'tfjs-wasm-2t' and 'tfjs-wasm-browser-1t': its threaded build with 2 threads and its one-thread
 * build in headless Chromium (bench/lib/wasm-browser.ts); 'torch-cuda': PyTorch on an NVIDIA GPU,
 * in the device bundle's bench (bench/device/).
 */
export const PEERS = ['kdgpu', 'tfjs-webgpu', 'tfjs-wasm', 'tfjs-wasm-2t', 'tfjs-wasm-browser-1t', 'torch-cpu', 'torch-cuda'] as const;
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
  /**
   * kdgpu-only cases measured in the same alternation as this one (each repetition runs them right
   * before this case's peers), so that a figure derived from both — the MLP step's matmul-speed
   * bound — compares runs made under the same machine conditions.
   */
  companions?: SuiteCase[];
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
  /** Set on a companion: the case whose repetitions it alternated with. */
  alternatedWith?: string;
}

export interface HarnessOptions {
  reps: number;
  /** Peers held to `budgetMs` per case. */
  slow: ReadonlySet<Peer>;
  budgetMs: number;
  /** Probe slow peers first (off for smoke runs, whose sizes are already small). */
  probe: boolean;
  /**
   * Called before every timed run: lets the previous run's after-effects (garbage collection,
   * buffers another framework freed) finish outside the measured interval.
   */
  settle?: () => Promise<void>;
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

/** One measured runner: a peer of a case, or kdgpu on one of its companions. */
interface Entry {
  c: SuiteCase;
  peer: Peer;
  runner: Runner;
  samples: Sample[];
  warmMs: number;
}

/**
 * Measures a case and its companions (returned first, in their order, then the case itself):
 * warm-up runs, then `reps` rounds, each running every companion and then every peer once.
 */
export async function measureCase(c: SuiteCase, o: HarnessOptions): Promise<CaseResult[]> {
  const cases = [...(c.companions ?? []), c];
  const results = new Map<SuiteCase, Partial<Record<Peer, PeerResult>>>(cases.map((x) => [x, {}]));
  const entries: Entry[] = [];
  for (const x of cases) {
    for (const peer of PEERS) {
      const make = x.peers[peer];
      if (!make) continue;
      try {
        const skipped = await probeSlowPeer(x, peer, make, o);
        if (skipped) {
          results.get(x)![peer] = { skipped };
          continue;
        }
        const runner = await make(false);
        const warm = await timeRun(runner);
        entries.push({ c: x, peer, runner, samples: [], warmMs: warm.wallMs });
      } catch (e) {
        results.get(x)![peer] = { error: message(e) };
      }
    }
  }
  let live = entries;
  for (let rep = 0; rep < o.reps; rep++) {
    for (const e of live) {
      if (o.slow.has(e.peer) && e.samples.length > 0 && e.samples.reduce((s, x) => s + x.wallMs, 0) >= o.budgetMs) continue;
      try {
        if (o.settle) await o.settle();
        e.samples.push(await timeRun(e.runner));
      } catch (err) {
        results.get(e.c)![e.peer] = { error: message(err) };
        await Promise.resolve(e.runner.dispose()).catch(() => {});
        live = live.filter((x) => x !== e);
      }
    }
  }
  for (const e of live) {
    await e.runner.dispose();
    const wall = e.samples.map((x) => x.wallMs);
    results.get(e.c)![e.peer] = {
      medianMs: median(wall),
      gflops: e.c.flops > 0 ? median(wall.map((w) => e.c.flops / (w * 1e6))) : null,
      n: e.samples.length,
      wallMs: wall.map((w) => +w.toFixed(3)),
      cpuMs: e.samples.map((x) => +x.cpuMs.toFixed(3)),
      warmupMs: +e.warmMs.toFixed(3),
    };
  }
  return cases.map((x) => report(x, results.get(x)!, o, x === c ? undefined : c.name));
}

/** For a slow peer of a probed case: a reason to skip it when a reduced run predicts it is over budget. */
async function probeSlowPeer(c: SuiteCase, peer: Peer, make: RunnerFactory, o: HarnessOptions): Promise<string | null> {
  if (!(o.probe && o.slow.has(peer) && c.probeRatio && c.probeRatio > 1)) return null;
  const p = await make(true);
  let est: number;
  try {
    await p.run(); // compiles
    est = (await timeRun(p)).wallMs * c.probeRatio;
  } finally {
    await p.dispose();
  }
  return est > o.budgetMs
    ? `estimated ${(est / 1000).toFixed(0)} s per run (from a run at 1/${Math.round(c.probeRatio)} of the work) exceeds the ${o.budgetMs / 1000} s budget`
    : null;
}

function report(c: SuiteCase, results: Partial<Record<Peer, PeerResult>>, o: HarnessOptions, alternatedWith?: string): CaseResult {
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
  o.log(`  ${c.name}: ${PEERS.map(cell).filter((x) => x).join(' | ')}${alternatedWith ? ` (alternating with ${alternatedWith})` : ''}`);
  return { section: c.section, name: c.name, flops: c.flops, ...(c.note ? { note: c.note } : {}), results, ratios, ...(alternatedWith ? { alternatedWith } : {}) };
}
