/**
 * Smoke test of the benchmark suite (bench/suite.ts): a --quick run without PyTorch, as a child
 * process, must write a results file with every section, positive figures for every framework
 * that ran, and the same engine.memory() at step 10 and at the last distillation step. No timing
 * thresholds: only that everything ran.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { listBenchmarks } from '../src/cli/bench.js';
import type { Measured, PeerResult } from '../bench/lib/suite-harness.js';
import { convGemmRatios, distillCosts, markdownTable, type SuiteResult } from '../bench/lib/suite-report.js';
import { cachedDistillName, loaderStepName } from '../bench/lib/suite-cases.js';
import { CONV_LAYERS, CONV_PASSES, convCaseName } from '../bench/lib/suite-conv-cases.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('bench suite (--quick --no-torch)', function () {
  this.timeout(180_000);
  let dir: string;
  let result: SuiteResult;
  let stdout = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-bench-suite-'));
    const args = ['--import', 'tsx', 'bench/suite.ts', '--quick', '--no-torch', '--reps', '1', '--memory-steps', '20', '--out', join(dir, 'suite.json')];
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.on('close', done));
    expect(code, `${stdout}\n${stderr}`).to.equal(0);
    result = JSON.parse(readFileSync(join(dir, 'suite.json'), 'utf8')) as SuiteResult;
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is listed by `kdgpu bench`', () => {
    expect(listBenchmarks().map((b) => b.name)).to.include('suite');
  });

  it('has every section, each case with positive figures for kdgpu and both tfjs backends, and no PyTorch', () => {
    const s = result.sections;
    expect(Object.keys(s)).to.have.members(['matmul', 'conv', 'steps', 'distill', 'memory']);
    const positive = (r: PeerResult | undefined, what: string): Measured => {
      expect(r, what).to.have.property('medianMs');
      const m = r as Measured;
      expect(m.medianMs, what).to.be.above(0);
      expect(m.n, what).to.be.at.least(1);
      for (const w of m.wallMs) expect(w, what).to.be.above(0);
      return m;
    };
    for (const section of [s.matmul!, s.conv!, s.steps!, s.distill!]) {
      expect(section.cases.length).to.be.above(0);
      for (const c of section.cases) {
        const k = positive(c.results.kdgpu, `${c.name}: kdgpu`);
        if (c.flops > 0) expect(k.gflops, c.name).to.be.above(0);
        expect(c.results).not.to.have.property('torch-cpu');
        // Cases run by the peers (all but the ceiling and the GEMM companions) have both tfjs backends, and tfjs-wasm with 2 threads.
        if (c.name !== 'FMA ceiling' && !c.name.startsWith('mlp gemm') && !c.alternatedWith && !c.name.startsWith(cachedDistillName(''))) {
          for (const p of ['tfjs-webgpu', 'tfjs-wasm', 'tfjs-wasm-2t'] as const) {
            positive(c.results[p], `${c.name}: ${p}`);
            expect(c.ratios[p], `${c.name}: ${p} ratio`).to.be.above(0);
          }
        }
      }
    }
    expect(s.matmul!.cases.map((c) => c.name)).to.include.members(['matmul 64', 'matmul 128', 'FMA ceiling']);
    expect(s.matmul!.ceiling.gflops).to.be.above(0);
    // Each conv layer's three passes, each after its same-M·N·K GEMM companion.
    expect(s.conv!.cases.filter((c) => !c.alternatedWith).map((c) => c.name)).to.deep.equal(CONV_LAYERS.flatMap((l) => CONV_PASSES.map((p) => convCaseName(l, p))));
    expect(convGemmRatios(s.conv!.cases).map((r) => r.name)).to.have.length(CONV_LAYERS.length * CONV_PASSES.length);
    expect(s.steps!.cases.map((c) => c.name)).to.include.members(['train step mnist-mlp-student', 'train step mnist-cnn-small', 'train step mnist-cnn-teacher']);
    // The cached-logits distillation step of each student, alternating with its scratch step.
    const costs = distillCosts(result);
    expect(costs.map((d) => d.student)).to.deep.equal(['mnist-mlp-student', 'mnist-cnn-small']);
    for (const d of costs) {
      expect(d.ratio, d.student).to.be.above(0);
      expect(d.paired, `${d.student}: per-repetition ratios`).to.not.equal(undefined);
      expect(s.distill!.cases.find((c) => c.name === loaderStepName(d.student))!.alternatedWith).to.equal(cachedDistillName(d.student));
    }
    const b = s.steps!.matmulBound!;
    for (const v of [b.stepFlops, b.gemmGflops, b.boundMs, b.stepMs, b.ratio]) expect(v).to.be.above(0);
    // The bound's GEMM runs in the MLP step's alternation, so each step run has a GEMM run beside it.
    const gemm = s.steps!.cases.find((c) => c.name.startsWith('mlp gemm'))!;
    expect(gemm.alternatedWith).to.equal('train step mnist-mlp-student');
    expect(b.paired, 'per-repetition ratios').to.not.equal(undefined);
    expect(b.paired!.min).to.be.above(0);
    expect(b.paired!.max).to.be.at.least(b.paired!.median);
    expect(b.paired!.median).to.be.at.least(b.paired!.min);
  });

  it('runs tfjs-wasm-2t on the threaded SIMD build with 2 threads in a cross-origin isolated page', () => {
    const d = result.peers['tfjs-wasm-2t'];
    expect(d).to.be.a('string');
    expect(d).to.include('wasm-threaded-simd build, 2 threads').and.include('cross-origin isolated: true');
    expect(result.peers).not.to.have.property('tfjs-wasm-browser-1t');
  });

  it('reports the same memory at step 10 and at the last distillation step', () => {
    const m = result.sections.memory!;
    expect(m.steps).to.equal(20);
    expect(m.at10.liveBuffers).to.be.above(0);
    expect(m.at10.liveBytes).to.be.above(0);
    expect(m.atEnd).to.deep.equal(m.at10);
    expect(m.flat).to.equal(true);
  });

  it('prints the table, writes the chart, and renders a Markdown table', () => {
    expect(stdout).to.match(/case +kdgpu ms/);
    expect(stdout).to.include('matmul-speed bound');
    expect(readFileSync(join(dir, 'suite.svg'), 'utf8')).to.match(/^<svg/);
    expect(existsSync(join(dir, 'suite.png'))).to.equal(true);
    const md = markdownTable(result).split('\n');
    const s = result.sections;
    expect(md.filter((l) => l.startsWith('| '))).to.have.length(2 + s.matmul!.cases.length + s.conv!.cases.length + s.steps!.cases.length + s.distill!.cases.length);
    expect(stdout).to.include('Distillation with cached logits costs');
  });
});
