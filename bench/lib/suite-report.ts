/**
 * The suite's results file and its reports: the console table, a Markdown table for the README,
 * and the derived figures (FMA ceiling share, the MLP step's matmul-speed bound, memory).
 */
import type { AdapterDescription } from '../../src/index.js';
import { cachedDistillName, loaderStepName, type CeilingInfo } from './suite-cases.js';
import { median } from './timing.js';
import { fmtMs, isMeasured, PEERS, type CaseResult, type Peer, type PeerResult } from './suite-harness.js';
import { totalBytes, type MemoryResult } from './suite-memory.js';
import type { SuiteOptions } from './suite-options.js';

export interface MatmulBound {
  gemm: string;
  /** GEMM FLOPs of one MLP training step. */
  stepFlops: number;
  /** kdgpu's own matmul speed at the step's largest GEMM shape. */
  gemmGflops: number;
  /** stepFlops at that speed. */
  boundMs: number;
  stepMs: number;
  /** stepMs ÷ boundMs (1: the step runs at matmul speed). */
  ratio: number;
  /**
   * The same ratio per repetition (each step run against the GEMM run just before it), median and
   * range: how much of the ratio is the machine's drift. Absent when the two were not alternated.
   */
  paired?: { median: number; min: number; max: number };
}

export interface SuiteResult {
  suite: 'kdgpu bench suite';
  date: string;
  command: string;
  adapter: AdapterDescription;
  adapterSlug: string;
  node: string;
  cpuCores: number;
  /** os.loadavg() at the start and the end: other load on the machine distorts every figure. */
  loadAverage: { start: number[]; end: number[] };
  options: SuiteOptions;
  /** What ran, per framework (version, threads, device). */
  peers: Partial<Record<Peer, string>>;
  sections: {
    matmul?: { cases: CaseResult[]; ceiling: CeilingInfo & { gflops: number | null } };
    conv?: { cases: CaseResult[] };
    steps?: { cases: CaseResult[]; matmulBound: MatmulBound | null };
    distill?: { cases: CaseResult[] };
    memory?: MemoryResult;
  };
  seconds: number;
}

const SHORT: Record<Peer, string> = {
  kdgpu: 'kd',
  'tfjs-webgpu': 'webgpu',
  'tfjs-wasm': 'wasm',
  'tfjs-wasm-2t': 'wasm2',
  'tfjs-wasm-browser-1t': 'wasm1b',
  'torch-cpu': 'torch',
  'torch-cuda': 'cuda',
};
/** Peers whose columns appear only where they ran (torch-cuda: the device bundle; the opt-in browser one-thread build). */
const OPTIONAL: readonly Peer[] = ['torch-cuda', 'tfjs-wasm-browser-1t'];
/**
 * The table's other columns: every peer but kdgpu (the OPTIONAL ones only where they ran), or with
 * `onlyPresent` (the device bundle's report) only the peers that ran.
 */
const othersOf = (r: SuiteResult, onlyPresent = false) =>
  PEERS.filter((p) => p !== 'kdgpu' && ((!OPTIONAL.includes(p) && !onlyPresent) || r.peers[p] !== undefined));

export function allCases(r: SuiteResult): CaseResult[] {
  const s = r.sections;
  return [...(s.matmul?.cases ?? []), ...(s.conv?.cases ?? []), ...(s.steps?.cases ?? []), ...(s.distill?.cases ?? [])];
}

export function matmulBound(cases: CaseResult[], gemmPrefix: string, stepName: string): MatmulBound | null {
  const gemm = cases.find((c) => c.name.startsWith(gemmPrefix));
  const step = cases.find((c) => c.name === stepName);
  const g = gemm?.results.kdgpu;
  const s = step?.results.kdgpu;
  if (!gemm || !step || !isMeasured(g) || !isMeasured(s) || g.gflops === null) return null;
  const boundMs = step.flops / (g.gflops * 1e6);
  const out: MatmulBound = { gemm: gemm.name.slice(gemmPrefix.length).trim(), stepFlops: step.flops, gemmGflops: g.gflops, boundMs, stepMs: s.medianMs, ratio: s.medianMs / boundMs };
  if (gemm.alternatedWith === stepName && g.wallMs.length === s.wallMs.length) {
    const per = s.wallMs.map((ms, i) => ms / ((step.flops * g.wallMs[i]) / gemm.flops));
    out.paired = { median: median(per), min: Math.min(...per), max: Math.max(...per) };
  }
  return out;
}

/** A case's kdgpu time ÷ its companion's (the median ratio, and per repetition where they alternated). */
export function pairedRatio(cases: CaseResult[], name: string, companion: string): { ratio: number; paired?: { median: number; min: number; max: number } } | null {
  const a = cases.find((c) => c.name === name);
  const b = cases.find((c) => c.name === companion);
  const x = a?.results.kdgpu;
  const y = b?.results.kdgpu;
  if (!a || !b || !isMeasured(x) || !isMeasured(y)) return null;
  const out: { ratio: number; paired?: { median: number; min: number; max: number } } = { ratio: x.medianMs / y.medianMs };
  if (b.alternatedWith === name && x.wallMs.length === y.wallMs.length) {
    const per = x.wallMs.map((ms, i) => ms / y.wallMs[i]);
    out.paired = { median: median(per), min: Math.min(...per), max: Math.max(...per) };
  }
  return out;
}

/** Per student: the cached distillation step's time ÷ the scratch step's (both from a loader). */
export function distillCosts(r: SuiteResult): { student: string; ratio: number; paired?: { median: number; min: number; max: number } }[] {
  const cases = r.sections.distill?.cases ?? [];
  const prefix = cachedDistillName('');
  return cases
    .filter((c) => c.name.startsWith(prefix))
    .flatMap((c) => {
      const student = c.name.slice(prefix.length);
      const p = pairedRatio(cases, c.name, loaderStepName(student));
      return p ? [{ student, ...p }] : [];
    });
}

/** A conv pass beside the GEMM of its M·N·K: both speeds and their ratio (1: the pass runs at matmul speed). */
export interface ConvGemmRatio {
  name: string;
  convGflops: number;
  gemmGflops: number;
  ratio: number;
}

/** For each conv case with a GEMM companion (bench/lib/suite-conv-cases.ts): conv GFLOP/s ÷ GEMM GFLOP/s. */
export function convGemmRatios(cases: CaseResult[]): ConvGemmRatio[] {
  const out: ConvGemmRatio[] = [];
  for (const c of cases) {
    const gemm = cases.find((x) => x.alternatedWith === c.name);
    const k = c.results.kdgpu;
    const g = gemm?.results.kdgpu;
    if (!isMeasured(k) || !isMeasured(g) || k.gflops === null || g.gflops === null) continue;
    out.push({ name: c.name, convGflops: k.gflops, gemmGflops: g.gflops, ratio: k.gflops / g.gflops });
  }
  return out;
}

function cell(r: PeerResult | undefined, reps: number): string {
  if (!r) return '—';
  if ('skipped' in r) return 'skipped';
  if ('error' in r) return 'error';
  return `${fmtMs(r.medianMs)}${r.n < reps ? ` (n=${r.n})` : ''}`;
}

const ratio = (x: number | undefined) => (x === undefined ? '—' : x >= 10 ? `${x.toFixed(0)}×` : `${x.toFixed(2)}×`);

/** Header and rows of the main table (strings), shared by the console and Markdown forms. */
export function tableCells(r: SuiteResult, onlyPresent = false): { header: string[]; rows: string[][] } {
  const OTHERS = othersOf(r, onlyPresent);
  const header = ['case', 'kdgpu ms', 'kdgpu GFLOP/s', ...OTHERS.map((p) => `${p} ms`), ...OTHERS.map((p) => `${SHORT[p]} ÷ kd`)];
  const rows = allCases(r).map((c) => {
    const k = c.results.kdgpu;
    return [c.name, cell(k, r.options.reps), isMeasured(k) && k.gflops !== null ? k.gflops.toFixed(2) : '—', ...OTHERS.map((p) => cell(c.results[p], r.options.reps)), ...OTHERS.map((p) => ratio(c.ratios[p]))];
  });
  return { header, rows };
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Lines under the table: ceiling, matmul-speed bound, memory, and why peers were skipped or failed. */
export function summaryLines(r: SuiteResult): string[] {
  const lines: string[] = [];
  const mm = r.sections.matmul;
  if (mm?.ceiling.gflops) {
    const shares = mm.cases
      .filter((c) => c.name.startsWith('matmul ') && isMeasured(c.results.kdgpu))
      .map((c) => `${c.name.slice(7)}: ${((100 * (c.results.kdgpu as { gflops: number }).gflops) / mm.ceiling.gflops!).toFixed(0)}%`);
    lines.push(`FMA ceiling of the adapter: ${mm.ceiling.gflops.toFixed(2)} GFLOP/s (${mm.ceiling.shape.chains} vec4 chains × ${mm.ceiling.shape.unroll} FMA/iteration); kdgpu matmul reaches ${shares.join(', ')} of it.`);
  }
  const b = r.sections.steps?.matmulBound;
  if (b) {
    lines.push(
      `MLP training step's matmul-speed bound: ${(b.stepFlops / 1e9).toFixed(3)} GFLOP of GEMMs ÷ kdgpu's ${b.gemmGflops.toFixed(2)} GFLOP/s at ${b.gemm} = ${fmtMs(b.boundMs)} ms; the step takes ${fmtMs(b.stepMs)} ms = ${b.ratio.toFixed(2)}× the bound.` +
        (b.paired ? ` Per repetition (step ÷ the bound from the GEMM run just before it): median ${b.paired.median.toFixed(2)}×, ${b.paired.min.toFixed(2)}–${b.paired.max.toFixed(2)}×.` : ''),
    );
  }
  for (const d of distillCosts(r)) {
    lines.push(
      `Distillation with cached logits costs ${d.ratio.toFixed(2)}× the scratch step of ${d.student} (same loader, alternating)` +
        (d.paired ? `; per repetition: median ${d.paired.median.toFixed(2)}×, ${d.paired.min.toFixed(2)}–${d.paired.max.toFixed(2)}×.` : '.'),
    );
  }
  const conv = convGemmRatios(r.sections.conv?.cases ?? []);
  if (conv.length) {
    lines.push(
      `Conv passes at a share of kdgpu's matmul at the same M·N·K (conv GFLOP/s ÷ GEMM GFLOP/s, measured in alternation): ${conv
        .map((c) => `${c.name} ${c.convGflops.toFixed(1)} ÷ ${c.gemmGflops.toFixed(1)} = ${c.ratio.toFixed(2)}`)
        .join('; ')}.`,
    );
  }
  const m = r.sections.memory;
  if (m) {
    const fmt = (x: typeof m.at10) => `${x.liveBuffers} live buffers, ${mb(x.liveBytes)} live, ${mb(totalBytes(x))} GPU in all (pooled ${x.pooledBuffers}, internal ${x.internalBuffers})`;
    lines.push(`Distillation step memory (${m.teacher} → ${m.student}, batch ${m.batch}): step 10: ${fmt(m.at10)}; step ${m.steps}: ${fmt(m.atEnd)} → ${m.flat ? 'flat' : 'CHANGED'} (${m.stepsPerSecond.toFixed(2)} steps/s).`);
  }
  for (const c of allCases(r)) {
    for (const p of PEERS) {
      const x = c.results[p];
      if (x && 'skipped' in x) lines.push(`${c.name}, ${p}: skipped, ${x.skipped}.`);
      if (x && 'error' in x) lines.push(`${c.name}, ${p}: error: ${x.error}`);
    }
  }
  return lines;
}

export function printTable(r: SuiteResult, log: (line: string) => void): void {
  const { header, rows } = tableCells(r);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  log('');
  log(`Median wall-clock ms per run, ${r.options.reps} alternating repetitions after a warm-up (n: fewer within tfjs-webgpu's budget); X ÷ kd = X's time ÷ kdgpu's (> 1: kdgpu is faster).`);
  log(`Adapter: ${r.adapter.description || r.adapter.architecture} (${r.adapter.vendor}); ${r.cpuCores} CPU cores; load average ${r.loadAverage.start.map((x) => x.toFixed(2)).join(' ')} at the start, ${r.loadAverage.end.map((x) => x.toFixed(2)).join(' ')} at the end.`);
  log(line(header));
  for (const row of rows) log(line(row));
  log('');
  for (const l of summaryLines(r)) log(l);
  for (const [p, d] of Object.entries(r.peers)) log(`${p}: ${d}`);
}

/** The results as a Markdown table plus the summary lines, for the README. */
export function markdownTable(r: SuiteResult, onlyPresent = false): string {
  const { header, rows } = tableCells(r, onlyPresent);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const md = [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(esc).join(' | ')} |`),
  ];
  const date = r.date.slice(0, 10);
  return [
    `Median ms per run (${r.options.reps} alternating repetitions after a warm-up), ${r.adapter.description || r.adapter.architecture}, ${r.cpuCores} CPU cores, ${date}; X ÷ kd is X's time ÷ kdgpu's (> 1: kdgpu is faster).`,
    '',
    ...md,
    '',
    ...summaryLines(r).map((l) => `- ${l}`),
  ].join('\n');
}
