/**
 * CNN layer benchmark: the reference teacher's layers at batch 256 (by default), forward and
 * forward+backward, for kdgpu, TensorFlow.js's WebGPU backend (on kdgpu's own GPUDevice) and
 * PyTorch on the CPU (bench/cnn_torch.py, spawned once), repetitions alternating between the three.
 *
 *   npx tsx bench/cnn.ts [--batch 256] [--reps 5] [--tf-reps 5] [--tf-budget 120] [--conv2-size 27]
 *                        [--rows conv1,pool1,conv2,pool2,softmax_ce] [--no-tf] [--no-torch]
 *
 * Rows (the teacher is conv32 relu → maxpool 2×2 s1 → conv64 relu → maxpool 2×2 s2 → … → softmax-CE):
 *   conv1       1→32, 3×3, valid, bias + ReLU, on [B, 1, 28, 28]; gradients for weight and bias
 *   pool1       max pool 2×2 stride 1 on [B, 32, 26, 26]
 *   conv2       32→64, 3×3, valid, bias + ReLU, on [B, 32, S, S] (S = --conv2-size, 27 by default);
 *               gradients for input, weight and bias
 *   pool2       max pool 2×2 stride 2 on [B, 64, S−2, S−2]
 *   softmax_ce  softmax cross-entropy of [B, 10] logits against labels (batch mean)
 * forward+backward feeds a random upstream gradient (or 1 for the loss). Every timing runs to
 * completion on the device (kdgpu: engine.sync(); tfjs: submit + onSubmittedWorkDone; torch:
 * synchronous). Medians of the measured repetitions after one warm-up each; TensorFlow.js is
 * warmed up at batch 8 and then repeated at full batch while its time for that row stays under
 * --tf-budget seconds (at least once), as it can take minutes per repetition on SwiftShader.
 *
 * Also prints conv GFLOP/s beside kdgpu matmul at the equivalent GEMM (M = N·OH·OW, N = O,
 * K = C·KH·KW), and writes bench/results/cnn-<adapter>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as kd from '../src/index.js';
import { kdRowRunner, MODES, tfRowRunner, type Mode, type RowName, type RowRunner as Runner } from './lib/cnn-rows.js';
import { initTfjsWebgpu, tf, tfWebgpuSync } from './lib/tfjs.js';
import { adapterSlug, median, randArray } from './lib/timing.js';
import { TorchServer as Server, type TorchReply } from './lib/torch-server.js';

// ---- options ----------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function opt(name: string, dflt: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const BATCH = Number(opt('batch', '256'));
const REPS = Number(opt('reps', '5'));
const TF_REPS = Number(opt('tf-reps', '5'));
const TF_BUDGET_MS = Number(opt('tf-budget', '120')) * 1000;
const S2 = Number(opt('conv2-size', '27'));
const ROWS = opt('rows', 'conv1,pool1,conv2,pool2,softmax_ce').split(',') as RowName[];
const USE_TF = !argv.includes('--no-tf');
const USE_TORCH = !argv.includes('--no-torch');

const here = dirname(fileURLToPath(import.meta.url));
const engine = await kd.init();
const adapterName = adapterSlug(engine.adapter);

const kdRunner = (row: RowName, B: number): Runner => kdRowRunner(engine, row, B, S2);
const tfRunner = (row: RowName, B: number): Runner => tfRowRunner(row, B, S2, tfWebgpuSync);

// ---- PyTorch (CPU, separate process) ----------------------------------------------------------

class TorchServer extends Server {
  constructor() {
    super(join(here, 'cnn_torch.py'));
  }
  runner(row: RowName): Runner & { last: TorchReply | null } {
    const self = this;
    return {
      last: null,
      async run(mode) {
        this.last = await self.send({ cmd: 'run', row, mode });
      },
      dispose() {},
    };
  }
}

// ---- measurement ------------------------------------------------------------------------------

interface Sample {
  wall: number[];
  cpu: number[];
}
const sample = (): Sample => ({ wall: [], cpu: [] });

async function timeKd(r: Runner, mode: Mode, into: Sample): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await r.run(mode);
  into.wall.push(performance.now() - t0);
  const c = process.cpuUsage(c0);
  into.cpu.push((c.user + c.system) / 1000);
}

const results: Record<string, Record<string, { kdgpu: Sample; tfjs: Sample; torch: Sample }>> = {};

console.log(`kdgpu CNN benchmark — adapter: ${engine.adapter.description} (${engine.adapter.vendor} ${engine.adapter.architecture})`);
console.log(`command: npx tsx bench/cnn.ts ${argv.join(' ')}`.trimEnd());
console.log(`batch ${BATCH}, ${REPS} repetitions (tfjs: up to ${TF_REPS}, budget ${TF_BUDGET_MS / 1000} s per row and mode), conv2 input ${S2}×${S2}`);

let torch: TorchServer | null = null;
if (USE_TORCH) {
  torch = new TorchServer();
  await torch.start();
  console.log(`PyTorch ${torch.info!.torch} on the CPU, ${torch.info!.threads} threads`);
}
if (USE_TF) {
  await initTfjsWebgpu(engine.device);
  console.log(`TensorFlow.js ${tf.version_core} WebGPU backend on the same GPUDevice`);
}

const skipped: Record<string, string> = {};
for (const row of ROWS) {
  results[row] = {};
  let k: Runner;
  try {
    k = kdRunner(row, BATCH);
    await engine.sync();
  } catch (e) {
    // A row whose kdgpu op is unavailable (e.g. mid-development) is reported, not fatal.
    skipped[row] = (e as Error).message.split('\n')[0];
    console.log(`  ${row}: skipped — kdgpu: ${skipped[row]}`);
    delete results[row];
    continue;
  }
  const t = USE_TF ? tfRunner(row, BATCH) : null;
  if (torch) await torch.send({ cmd: 'setup', row, batch: BATCH, conv2_size: S2 });
  const p = torch ? torch.runner(row) : null;
  for (const mode of MODES) {
    const s = { kdgpu: sample(), tfjs: sample(), torch: sample() };
    results[row][mode] = s;
    // warm-up
    await k.run(mode);
    if (p) await p.run(mode);
    if (t) {
      const small = tfRunner(row, 8);
      await small.run(mode);
      small.dispose();
    }
    let tfSpent = 0;
    for (let rep = 0; rep < Math.max(REPS, t ? TF_REPS : 0); rep++) {
      if (rep < REPS) await timeKd(k, mode, s.kdgpu);
      if (p && rep < REPS) {
        await p.run(mode);
        s.torch.wall.push(p.last!.wall_ms!);
        s.torch.cpu.push(p.last!.cpu_ms!);
      }
      if (t && rep < TF_REPS && (rep === 0 || tfSpent < TF_BUDGET_MS)) {
        await timeKd(t, mode, s.tfjs);
        tfSpent += s.tfjs.wall[s.tfjs.wall.length - 1];
      }
    }
    const f = (x: Sample) => (x.wall.length ? `${median(x.wall).toFixed(1)} ms` : '—');
    console.log(`  ${row} ${mode}: kdgpu ${f(s.kdgpu)} | tfjs ${f(s.tfjs)} (n=${s.tfjs.wall.length}) | torch ${f(s.torch)}`);
  }
  k.dispose();
  t?.dispose();
}
torch?.stop();

// ---- equivalent GEMMs ----------------------------------------------------------------------

interface Gemm {
  row: RowName;
  M: number;
  N: number;
  K: number;
  flops: number;
  matmulMs: number;
}
const gemms: Gemm[] = [];
for (const row of ROWS.filter((r) => (r === 'conv1' || r === 'conv2') && results[r])) {
  const [C, O, S] = row === 'conv1' ? [1, 32, 28] : [32, 64, S2];
  const M = BATCH * (S - 2) * (S - 2);
  const N = O;
  const K = C * 9;
  const a = kd.tensor(randArray(M * K, 8), [M, K]);
  const b = kd.tensor(randArray(K * N, 9), [K, N]);
  const s = sample();
  const r: Runner = {
    async run() {
      kd.noGrad(() => kd.matmul(a, b).dispose());
      await engine.sync();
    },
    dispose() {},
  };
  await r.run('fwd');
  for (let i = 0; i < REPS; i++) await timeKd(r, 'fwd', s);
  a.dispose();
  b.dispose();
  gemms.push({ row, M, N, K, flops: 2 * M * N * K, matmulMs: median(s.wall) });
}

// ---- report ---------------------------------------------------------------------------------

const pad = (v: string, n: number) => v.padStart(n);
const ms = (x: Sample) => (x.wall.length ? median(x.wall) : NaN);
const fmtMs = (v: number) => (Number.isNaN(v) ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? '—' : `${(a / b).toFixed(1)}×`);
console.log('');
console.log(`Median wall-clock ms per call at batch ${BATCH} (ratios: other / kdgpu; > 1 means kdgpu is faster)`);
console.log(`${'row'.padEnd(12)}${'mode'.padEnd(9)}${pad('kdgpu', 10)}${pad('tfjs-webgpu', 13)}${pad('n', 4)}${pad('torch-cpu', 11)}${pad('tfjs/kd', 9)}${pad('torch/kd', 10)}`);
const totals: Record<Mode, { kd: number; tf: number; torch: number }> = { fwd: { kd: 0, tf: 0, torch: 0 }, fwdbwd: { kd: 0, tf: 0, torch: 0 } };
for (const row of ROWS.filter((r) => results[r])) {
  for (const mode of MODES) {
    const s = results[row][mode];
    const [a, b, c] = [ms(s.kdgpu), ms(s.tfjs), ms(s.torch)];
    if (row === 'conv1' || row === 'conv2') {
      totals[mode].kd += a;
      totals[mode].tf += b;
      totals[mode].torch += c;
    }
    console.log(
      `${row.padEnd(12)}${(mode === 'fwd' ? 'fwd' : 'fwd+bwd').padEnd(9)}${pad(fmtMs(a), 10)}${pad(fmtMs(b), 13)}${pad(String(s.tfjs.wall.length), 4)}${pad(fmtMs(c), 11)}${pad(ratio(b, a), 9)}${pad(ratio(c, a), 10)}`,
    );
  }
}
for (const [row, why] of Object.entries(skipped)) console.log(`${row.padEnd(12)}skipped: ${why}`);
if (results.conv1 && results.conv2) {
  for (const mode of MODES) {
    const t = totals[mode];
    console.log(
      `${'conv1+conv2'.padEnd(12)}${(mode === 'fwd' ? 'fwd' : 'fwd+bwd').padEnd(9)}${pad(fmtMs(t.kd), 10)}${pad(fmtMs(t.tf), 13)}${pad('', 4)}${pad(fmtMs(t.torch), 11)}${pad(ratio(t.tf, t.kd), 9)}${pad(ratio(t.torch, t.kd), 10)}`,
    );
  }
}
console.log('');
console.log('Convolution vs kdgpu matmul at the equivalent GEMM (M = N·OH·OW, N = O, K = C·KH·KW), GFLOP/s:');
for (const g of gemms) {
  const fwd = ms(results[g.row].fwd.kdgpu);
  const both = ms(results[g.row].fwdbwd.kdgpu);
  const passes = g.row === 'conv1' ? 2 : 3; // conv1's input needs no gradient
  const conv = g.flops / fwd / 1e6;
  const mm = g.flops / g.matmulMs / 1e6;
  console.log(
    `  ${g.row}: M ${g.M} N ${g.N} K ${g.K} (${(g.flops / 1e9).toFixed(2)} GFLOP): conv forward ${conv.toFixed(2)}, ` +
      `forward+backward ${((passes * g.flops) / both / 1e6).toFixed(2)} (${passes} GEMMs), matmul ${mm.toFixed(2)} (${fmtMs(g.matmulMs)} ms) → conv/matmul ${(conv / mm).toFixed(2)}`,
  );
}

const out = {
  adapter: engine.adapter,
  batch: BATCH,
  conv2Size: S2,
  reps: REPS,
  tfReps: TF_REPS,
  torch: torch?.info ?? null,
  tfjs: USE_TF ? tf.version_core : null,
  date: new Date().toISOString(),
  skipped,
  note: 'wall-clock ms per call (medians); cpu = process CPU ms (kdgpu and tfjs share one process); tfjs warmed up at batch 8',
  rows: Object.fromEntries(
    Object.entries(results).map(([row, modes]) => [
      row,
      Object.fromEntries(
        Object.entries(modes).map(([mode, s]) => [
          mode,
          Object.fromEntries(
            Object.entries(s).map(([fw, x]) => [fw, { medianMs: x.wall.length ? median(x.wall) : null, wallMs: x.wall, cpuMs: x.cpu }]),
          ),
        ]),
      ),
    ]),
  ),
  gemm: gemms.map((g) => ({
    ...g,
    convForwardGflops: g.flops / ms(results[g.row].fwd.kdgpu) / 1e6,
    matmulGflops: g.flops / g.matmulMs / 1e6,
  })),
};
const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `cnn-${adapterName}.json`);
writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote ${file}`);
process.exit(0);
