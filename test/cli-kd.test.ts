/**
 * The distillation subcommands of the `kdgpu` command line (distill, sweep, demo), driven through
 * the real bin as child processes like test/cli.test.ts, on tiny MLPs and Fashion-MNIST subsets.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ownStderrLines } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/kdgpu.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kdgpu(...args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KDGPU_CLI_FROM_BUILD: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

const ownLines = ownStderrLines;

function expectCleanError(r: Run, pattern: RegExp): void {
  const lines = ownLines(r.stderr);
  expect(r.code, r.stderr).to.be.a('number').and.not.equal(0);
  expect(lines, r.stderr).to.have.length(1);
  expect(lines[0]).to.match(pattern);
  expect(lines[0], 'stack trace').not.to.match(/^\s+at |\.(ts|js|mjs):\d+:\d+/);
  expect(r.stdout).to.equal('');
}

const mlp = (name: string, hidden: number) => ({
  name,
  inputShape: [1, 28, 28],
  layers: [{ type: 'flatten' }, { type: 'linear', out: hidden }, { type: 'relu' }, { type: 'linear', out: 10 }],
});

describe('kdgpu CLI: distill, sweep, demo', function () {
  this.timeout(150_000);
  let dir: string;
  let teacherSpec: string;
  let studentSpec: string;
  let teacher: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-cli-kd-'));
    teacherSpec = join(dir, 'teacher.json');
    studentSpec = join(dir, 'student.json');
    writeFileSync(teacherSpec, JSON.stringify(mlp('tiny-teacher', 64)));
    writeFileSync(studentSpec, JSON.stringify(mlp('tiny-student', 16)));
    teacher = join(dir, 'teacher.safetensors');
    const r = await kdgpu('train', '--model-spec', teacherSpec, '--train-size', '1000', '--test-size', '200', '--epochs', '2', '--batch', '64', '--out', teacher, '--no-progress');
    expect(r.code, r.stderr).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has --help for distill, sweep and demo', async () => {
    const subs = ['distill', 'sweep', 'demo'];
    const runs = await Promise.all(subs.map((s) => kdgpu(s, '--help')));
    runs.forEach((r, i) => {
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include(`Usage: kdgpu ${subs[i]}`);
      expect(r.stdout).to.include('--json');
      expect(r.stdout).to.include('--teacher');
    });
  });

  it('train → distill → eval through safetensors files', async () => {
    const student = join(dir, 'student.safetensors');
    const d = await kdgpu('distill', '--teacher', teacher, '--student-spec', studentSpec, '--train-size', '512', '--test-size', '200', '--epochs', '2', '-T', '4', '--alpha', '0.7', '--out', student, '--no-progress', '--json');
    expect(d.code, d.stderr).to.equal(0);
    const res = JSON.parse(d.stdout);
    expect(res.teachers).to.deep.equal([{ weights: teacher, model: 'tiny-teacher' }]);
    expect(res.student).to.equal('tiny-student');
    expect(res).to.include({ trainSize: 512, testSize: 200, epochs: 2, temperature: 4, alpha: 0.7, kdWeight: 0.7, form: 'kl', out: student });
    expect(res.ceWeight).to.be.closeTo(0.3, 1e-12);
    expect(res.history.map((h: { epoch: number }) => h.epoch)).to.deep.equal([1, 2]);
    expect(res.teacherTest.count).to.equal(200);
    expect(res.teacherTest.accuracy).to.be.above(0.5); // the teacher learned something
    expect(res.test.count).to.equal(200);
    expect(res.test.accuracy).to.be.within(0, 1);
    expect(res.hashes.teacher).to.match(/^[0-9a-f]{64}$/);
    expect(existsSync(student)).to.equal(true);

    const e = await kdgpu('eval', '--weights', student, '--test-size', '200', '--json');
    expect(e.code, e.stderr).to.equal(0);
    const m = JSON.parse(e.stdout);
    expect(m.model).to.equal('tiny-student');
    expect(m.accuracy).to.be.closeTo(res.test.accuracy, 1e-9);
  });

  it('gives one clean line for each distill error', async () => {
    const common = ['--student-spec', studentSpec, '--train-size', '256', '--test-size', '100', '--epochs', '1', '--no-progress'];
    const cases: [string[], RegExp][] = [
      [['--teacher', teacher, '-T', '0'], /^error: option '-T, --temperature <x>' argument '0' is invalid\. Expected a number > 0\.$/],
      [['--teacher', teacher, '-T', '-1'], /^error: option '-T, --temperature <x>' argument '-1' is invalid\. Expected a number > 0\.$/],
      [['--teacher', teacher, '--alpha', '1.5'], /^error: option '--alpha <x>' argument '1\.5' is invalid\. Expected a number in \[0, 1\]\.$/],
      [['--teacher', teacher, '--epochs', 'abc'], /^error: option '--epochs <n>' argument 'abc' is invalid\. Expected a positive integer\.$/],
      [['--teacher', teacher, '--teacher-model', 'mnist-cnn-teacher'], /^kdgpu: teacher .*teacher\.safetensors does not fit this model.*holds 'tiny-teacher', not 'mnist-cnn-teacher'/],
      [['--teacher', join(dir, 'missing.safetensors')], /^kdgpu: teacher file .*missing\.safetensors does not exist$/],
    ];
    const runs = await Promise.all(cases.map(([args]) => kdgpu('distill', ...common, ...args)));
    runs.forEach((r, i) => expectCleanError(r, cases[i][1]));
  });

  it('sweep --json runs every temperature and writes results and plots', async () => {
    const out = join(dir, 'sweep');
    const r = await kdgpu('sweep', '--teacher', teacher, '--student-spec', studentSpec, '--train-size', '256', '--test-size', '200', '--epochs', '1', '--T', '2,8', '--seeds', '0', '--out', out, '--no-progress', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const res = JSON.parse(r.stdout);
    expect(res.grid).to.deep.equal({ temperature: [2, 8] });
    expect(res.fixed).to.deep.equal({ alpha: 0.5 });
    expect(res.runs.map((x: { temperature: number; seed: number }) => [x.temperature, x.seed])).to.deep.equal([
      [2, 0],
      [8, 0],
    ]);
    for (const x of res.runs) expect(x.accuracy).to.be.within(0, 1);
    expect([2, 8]).to.include(res.best.temperature);
    for (const f of ['results.json', 'results.csv', 'history.csv', 'metrics_vs_temperature.svg', 'metrics_vs_temperature.png']) {
      expect(res.files).to.include(join(out, f));
      expect(existsSync(join(out, f)), f).to.equal(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).runs).to.have.length(2);
  });

  it('demo --quick --json compares the students and writes the plot', async () => {
    const out = join(dir, 'demo');
    const r = await kdgpu('demo', '--quick', '--teacher', teacher, '--out', out, '--no-progress', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const res = JSON.parse(r.stdout);
    expect(res.mode).to.equal('quick');
    expect(res.recipe).to.include({ trainCount: 200, epochs: 3, testCount: 500, temperature: 4, alpha: 0.9, student: 'mlp-256-256' });
    expect(res.teacher).to.include({ weights: teacher, model: 'tiny-teacher', trained: false, params: 784 * 64 + 64 + 64 * 10 + 10 });
    for (const s of [res.teacher, res.scratch, res.kd]) {
      expect(s.accuracy).to.be.within(0, 1);
      expect(s.flops).to.be.above(0);
      expect(s.inferenceImagesPerSecond).to.be.above(0);
    }
    // Training speed for the students; the teacher (not trained here) has no training figure.
    for (const s of [res.scratch, res.kd]) expect(s.imagesPerSecond).to.be.above(0);
    expect(res.teacher).to.include({ trainingImagesPerSecond: null }).and.not.have.property('imagesPerSecond');
    expect(res.scratch.params).to.equal(784 * 256 + 256 + 256 * 256 + 256 + 256 * 10 + 10);
    expect(res.kd.params).to.equal(res.scratch.params);
    expect(res.gainPoints).to.be.closeTo(100 * (res.kd.accuracy - res.scratch.accuracy), 1e-9);
    expect(res.curves.scratch.map((c: { epoch: number }) => c.epoch)).to.deep.equal([1, 2, 3]);
    expect(res.curves.kd).to.have.length(3);
    for (const f of ['curves.svg', 'curves.png', 'accuracy.png', 'results.json', 'kd-student.safetensors']) {
      expect(res.files).to.include(join(out, f));
      expect(statSync(join(out, f)).size, f).to.be.above(0);
    }
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).gainPoints).to.equal(res.gainPoints);
    // The distilled student's weights name their model, so eval reads them back.
    const e = await kdgpu('eval', '--weights', join(out, 'kd-student.safetensors'), '--test-size', '500', '--json');
    expect(e.code, e.stderr).to.equal(0);
    expect(JSON.parse(e.stdout).accuracy).to.be.closeTo(res.kd.accuracy, 1e-9);
  });
});
