/**
 * Issue 24 through the CLI: Ctrl-C at five points of a 2-epoch `train`, `distill` and 4-run `sweep`
 * (before the first step, inside the first epoch, at its last step, inside the second, during the
 * last step), then `--resume`, gives the uninterrupted run's weights (sha-256) or results; Ctrl-C
 * on mnist-cnn-small at batch 256 stops within 3 steps; a second Ctrl-C quits at once and leaves
 * the checkpoint whole; a diverging run exits 1 naming the step and writes nothing; `eval` warns
 * about NaN weights and refuses them with --strict.
 *
 * The Ctrl-C points are placed by KDGPU_TEST_SIGINT_AT (the process sends itself SIGINT after its
 * N-th training step, or as soon as its handler is installed), so each lands where it should.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import * as kd from '../src/index.js';
import { ownStderrLines } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/kdgpu.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KDGPU_CLI_FROM_BUILD: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

const kdgpu = (args: string[], env: Record<string, string> = {}) => finish(start(args, env));
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('kdgpu CLI: interrupt anywhere, resume exactly; stop on NaN', function () {
  this.timeout(900_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kdgpu-interrupt-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // 8 steps per epoch; step 8 is the first epoch's last, 16 the run's last.
  const POINTS = ['start', '3', '8', '12', '16'];
  const trainArgs = ['--model', 'mnist-mlp-student', '--train-size', '1024', '--test-size', '100', '--epochs', '2', '--batch', '128', '--no-progress'];

  /** Runs `args` (writing --out OUT) straight, then stopped at each point and resumed; every final file must hash the same. */
  async function stopsAndResumes(cmd: string, args: string[], name: string): Promise<void> {
    const straight = join(dir, `${name}-straight.safetensors`);
    const r0 = await kdgpu([cmd, ...args, '--out', straight]);
    expect(r0.code, r0.stderr).to.equal(0);
    for (const at of POINTS) {
      const out = join(dir, `${name}-${at}.safetensors`);
      const ckpt = join(dir, `${name}-${at}.checkpoint.safetensors`);
      const stopped = await kdgpu([cmd, ...args, '--out', out, '--json'], { KDGPU_TEST_SIGINT_AT: at });
      expect(stopped.code, `${name} at ${at}: ${stopped.stderr}`).to.equal(130);
      expect(existsSync(out), 'no weights after a stop').to.equal(false);
      const j = JSON.parse(stopped.stdout) as { stopReason: string; stoppedAt: { epoch: number; step: number }; checkpoint: string };
      expect(j.stopReason).to.equal('signal');
      expect(j.checkpoint).to.equal(ckpt);
      const done = j.stoppedAt.epoch * 8 + j.stoppedAt.step;
      // The stop comes within 3 steps of the Ctrl-C (after step N, or before the first step).
      if (at === 'start') expect(done, `${name}: steps taken after an early Ctrl-C`).to.be.at.most(3);
      else expect(done - Number(at), `${name} at ${at}: steps after the Ctrl-C (stopped at ${JSON.stringify(j.stoppedAt)})`).to.be.within(0, 3);
      const resumeLine = stopped.stderr.split('\n').find((l) => l.trim().startsWith('kdgpu ') && l.includes('--resume'));
      expect(resumeLine, 'the resume command is printed').to.be.a('string');
      const resumed = await kdgpu([cmd, ...args, '--out', out, '--resume', ckpt]);
      expect(resumed.code, `${name} resumed at ${at}: ${resumed.stderr}`).to.equal(0);
      expect(sha(out), `${name}: weights after a stop at ${at} (${JSON.stringify(j.stoppedAt)}) and --resume`).to.equal(sha(straight));
    }
  }

  it('train: Ctrl-C at five points, then --resume: the same weights (sha-256) as without a stop', async () => {
    await stopsAndResumes('train', trainArgs, 'train');
  });

  it('distill: Ctrl-C at five points, then --resume: the same weights (sha-256) as without a stop', async () => {
    const teacher = join(dir, 'train-straight.safetensors');
    if (!existsSync(teacher)) {
      const r = await kdgpu(['train', ...trainArgs, '--out', teacher]);
      expect(r.code, r.stderr).to.equal(0);
    }
    const args = ['--teacher', teacher, '--student', 'mnist-mlp-student', '--train-size', '1024', '--test-size', '100', '--epochs', '2', '--batch', '128', '--no-teacher-eval', '--no-progress'];
    await stopsAndResumes('distill', args, 'distill');
    const r = await kdgpu(['distill', ...args, '--assistant', 'mnist-mlp-student', '--checkpoint', join(dir, 'x.ckpt')]);
    expect(r.code).to.equal(1);
    expect(ownStderrLines(r.stderr)).to.deep.equal(['kdgpu: --checkpoint and --resume cannot be combined with --assistant (distill each stage on its own to checkpoint it)']);
  });

  it('sweep of 4 runs: Ctrl-C at five points, then --resume: the same results; finished runs are not run again', async () => {
    const teacher = join(dir, 'train-straight.safetensors');
    if (!existsSync(teacher)) {
      const r = await kdgpu(['train', ...trainArgs, '--out', teacher]);
      expect(r.code, r.stderr).to.equal(0);
    }
    // 4 steps per epoch, 8 per run, 32 in all.
    const args = ['--teacher', teacher, '--student', 'mnist-mlp-student', '--train-size', '512', '--test-size', '100', '--epochs', '2', '--batch', '128', '--T', '2,4', '--seeds', '0,1', '--no-progress', '--no-png', '--json'];
    const results = (folder: string) => {
      const r = JSON.parse(readFileSync(join(folder, 'results.json'), 'utf8')) as { runs: { name: string; history: { epoch: number; loss: number }[]; test: unknown }[] };
      return r.runs.map((x) => ({ name: x.name, history: x.history.map((h) => [h.epoch, h.loss]), test: x.test }));
    };
    const straight = join(dir, 'sweep-straight');
    const r0 = await kdgpu(['sweep', ...args, '--out', straight]);
    expect(r0.code, r0.stderr).to.equal(0);
    const want = results(straight);
    for (const at of ['start', '3', '8', '10', '32']) {
      const out = join(dir, `sweep-${at}`);
      const stopped = await kdgpu(['sweep', ...args, '--out', out], { KDGPU_TEST_SIGINT_AT: at });
      expect(stopped.code, `sweep at ${at}: ${stopped.stderr}`).to.equal(130);
      const j = JSON.parse(stopped.stdout) as { runsDone: number; stoppedAt: { run: number; epoch: number; step: number }; checkpoint: string };
      expect(j.checkpoint).to.equal(join(out, 'sweep.checkpoint.json'));
      expect(existsSync(join(out, 'results.json')), 'no results after a stop').to.equal(false);
      if (at !== 'start') {
        const done = j.runsDone * 8 + j.stoppedAt.epoch * 4 + j.stoppedAt.step;
        expect(done - Number(at), `sweep at ${at}: steps after the Ctrl-C (${JSON.stringify(j.stoppedAt)})`).to.be.within(0, 3);
      }
      const resumed = await kdgpu(['sweep', ...args, '--out', out, '--resume', j.checkpoint]);
      expect(resumed.code, `sweep resumed at ${at}: ${resumed.stderr}`).to.equal(0);
      const ran = ownStderrLines(resumed.stderr).filter((l) => /^run \d\/4 /.test(l)).map((l) => Number(l.slice(4, 5)));
      expect(ran, `sweep resumed at ${at}: the runs it ran`).to.deep.equal([1, 2, 3, 4].slice(j.runsDone));
      expect(results(out), `sweep: results after a stop at ${at} and --resume`).to.deep.equal(want);
    }
  });

  it('mnist-cnn-small at batch 256: Ctrl-C stops within 3 steps; a second Ctrl-C quits at once and leaves the checkpoint whole', async () => {
    const ckpt = join(dir, 'cnn.ckpt.safetensors');
    const args = ['train', '--model', 'mnist-cnn-small', '--batch', '256', '--train-size', '2560', '--test-size', '100', '--epochs', '3', '--no-progress', '--checkpoint', ckpt, '--json'];
    const r = await kdgpu(args, { KDGPU_TEST_SIGINT_AT: '2' });
    expect(r.code, r.stderr).to.equal(130);
    const j = JSON.parse(r.stdout) as { stoppedAt: { epoch: number; step: number } };
    expect(j.stoppedAt.epoch).to.equal(0);
    expect(j.stoppedAt.step - 2, `steps after the Ctrl-C (stopped at ${JSON.stringify(j.stoppedAt)})`).to.be.within(0, 3);
    expect(r.stderr).to.include(`stopped at step ${j.stoppedAt.step} of epoch 1`);

    // Two Ctrl-Cs: the second exits at once (130); the checkpoint is the last whole one, no temporary file is left.
    const child = start(args.concat(['--epochs', '100']));
    const running = finish(child);
    const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    rmSync(ckpt);
    while (!existsSync(ckpt) && child.exitCode === null) await new Promise((res) => setTimeout(res, 50)); // the first epoch's checkpoint
    // Ctrl-C every 50 ms until the process ends (two signals sent at once would merge into one):
    // the second one handled must end it at once, before the stop's checkpoint and result.
    child.kill('SIGINT');
    const again = setInterval(() => child.exitCode === null && child.kill('SIGINT'), 50);
    const twice = await running;
    clearInterval(again);
    clearTimeout(killer);
    expect(twice.code, twice.stderr).to.equal(130);
    expect(twice.stdout, 'no result: the second Ctrl-C quit at once').to.equal('');
    const meta = JSON.parse(kd.nn.parseSafetensors(new Uint8Array(readFileSync(ckpt)), ckpt).metadata.kdgpu) as { epoch: number; step: number };
    expect(meta.epoch).to.be.at.least(1);
    expect(meta.step, 'an epoch-end checkpoint, not a stop').to.equal(0);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-')), 'temporary files left').to.deep.equal([]);
  });

  it('a diverging run (--lr 1e308) exits 1 naming the step and writes no weights or checkpoint', async () => {
    const out = join(dir, 'nan.safetensors');
    const ckpt = join(dir, 'nan.ckpt.safetensors');
    const r = await kdgpu(['train', ...trainArgs, '--lr', '1e308', '--out', out, '--checkpoint', ckpt]);
    expect(r.code, r.stderr).to.equal(1);
    const lines = ownStderrLines(r.stderr).filter((l) => !l.startsWith('mnist-mlp-student on'));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^kdgpu: training diverged: the updated weight '[^']+' is not finite at step 1 \(epoch 1, step 1 of 8\); stopped without writing weights or a checkpoint/);
    expect(existsSync(out)).to.equal(false);
    expect(existsSync(ckpt)).to.equal(false);
  });

  it('eval of weights with NaN warns (and reports them in JSON); --strict refuses them', async () => {
    const good = join(dir, 'train-straight.safetensors');
    if (!existsSync(good)) {
      const r = await kdgpu(['train', ...trainArgs, '--out', good]);
      expect(r.code, r.stderr).to.equal(0);
    }
    const f = kd.nn.parseSafetensors(new Uint8Array(readFileSync(good)), good);
    const entries = [...f.tensors].map(([n, t]): [string, { shape: number[]; data: Float32Array | Int32Array }] => [n, { shape: t.shape, data: t.data.slice() }]);
    (entries[0][1].data as Float32Array)[7] = NaN;
    const bad = join(dir, 'diverged.safetensors');
    writeFileSync(bad, kd.nn.serializeSafetensors(entries, f.metadata));
    const evalArgs = ['eval', '--weights', bad, '--test-size', '100', '--json'];
    const r = await kdgpu(evalArgs);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.include(`kdgpu: warning: ${bad}: 1 value in 1 tensor is not finite (the first: ${entries[0][0]}[7] = NaN); were these weights saved from a diverged run?`);
    expect((JSON.parse(r.stdout) as { nonFiniteWeights: number }).nonFiniteWeights).to.equal(1);
    const strict = await kdgpu([...evalArgs, '--strict']);
    expect(strict.code).to.equal(1);
    expect(ownStderrLines(strict.stderr)).to.deep.equal([`kdgpu: ${bad}: 1 value in 1 tensor is not finite (the first: ${entries[0][0]}[7] = NaN); were these weights saved from a diverged run? (refused: --strict)`]);
    expect(strict.stdout).to.equal('');
    const clean = await kdgpu(['eval', '--weights', good, '--test-size', '100', '--json']);
    expect(clean.stderr).not.to.include('not finite');
    expect((JSON.parse(clean.stdout) as { nonFiniteWeights: number }).nonFiniteWeights).to.equal(0);
  });
});
