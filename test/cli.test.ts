/**
 * The `kdgpu` command line, driven through its real bin as child processes (from the sources:
 * in a clone the bin runs src/ through tsx unless KDGPU_CLI_FROM_BUILD is set, so a stale dist/ cannot hide a change).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { PNG } from 'pngjs';
import { ownStderrLines } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/kdgpu.mjs', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, KDGPU_CLI_FROM_BUILD: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function finish(child: ChildProcess): Promise<Run> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((done) => child.on('close', (code, signal) => done({ code, signal, stdout, stderr })));
}

const kdgpu = (...args: string[]) => finish(start(args));

const ownLines = ownStderrLines;

/** A user error: non-zero exit, a short message, no JavaScript stack. */
function expectCleanError(r: Run, pattern: RegExp, maxLines = 1): void {
  const lines = ownLines(r.stderr);
  expect(r.code, r.stderr).to.be.a('number').and.not.equal(0);
  expect(lines.length, r.stderr).to.be.within(1, maxLines);
  expect(lines[0]).to.match(pattern);
  for (const l of lines) expect(l, 'stack trace line').not.to.match(/^\s+at |\.(ts|js|mjs):\d+:\d+/);
  expect(r.stdout).to.equal('');
}

const TINY_SPEC = {
  name: 'tiny-mlp',
  inputShape: [1, 28, 28],
  layers: [{ type: 'flatten' }, { type: 'linear', out: 32 }, { type: 'relu' }, { type: 'linear', out: 10 }],
};

describe('kdgpu CLI', function () {
  this.timeout(120_000);
  let dir: string;
  let spec: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-cli-'));
    spec = join(dir, 'tiny.json');
    writeFileSync(spec, JSON.stringify(TINY_SPEC));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has --help for every subcommand', async () => {
    const subs = ['info', 'summary', 'train', 'eval', 'bench'];
    const runs = await Promise.all([kdgpu('--help'), ...subs.map((s) => kdgpu(s, '--help'))]);
    for (const s of subs) expect(runs[0].stdout).to.include(s);
    runs.slice(1).forEach((r, i) => {
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include(`Usage: kdgpu ${subs[i]}`);
      expect(r.stdout).to.include('--json');
    });
  });

  it('summary --json gives the teacher\'s parameters and profiler FLOPs', async () => {
    const r = await kdgpu('summary', 'mnist-cnn-teacher', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const s = JSON.parse(r.stdout);
    expect(s.model).to.equal('mnist-cnn-teacher');
    expect(s.inputShape).to.deep.equal([1, 28, 28]);
    expect(s.params).to.equal(1011466);
    expect(s.trainableParams).to.equal(1011466);
    expect(s.flops).to.equal(11021029);
    expect(s.layers).to.have.length(12);
    expect(s.layers[0]).to.include({ name: '0', type: 'Conv2d', params: 320 });
  });

  // MACs: conv and linear multiply-adds counted by PyTorch forward hooks on torchvision's models.
  it('summary --json gives torchvision\'s parameter counts for mobilenet-v2 and resnet50 (traced, residual blocks included)', async () => {
    for (const [model, params, macs, leaf] of [
      ['mobilenet-v2', 3_504_872, 300_774_272, { name: 'features.1.conv.0.0', type: 'Conv2d', params: 288 }],
      ['resnet50', 25_557_032, 4_089_184_256, { name: 'layer1.0.downsample.0', type: 'Conv2d', params: 16_384 }],
    ] as const) {
      const r = await kdgpu('summary', model, '--json');
      expect(r.code, r.stderr).to.equal(0);
      const s = JSON.parse(r.stdout);
      expect(s.inputShape).to.deep.equal([3, 224, 224]);
      expect(s.params, model).to.equal(params);
      expect(s.macs, model).to.equal(macs);
      expect(s.layers.at(-1).outputShape).to.deep.equal([1000]);
      expect(s.layers.reduce((a: number, l: { params: number }) => a + l.params, 0), `${model}: rows add up`).to.equal(params);
      expect(s.layers.find((l: { name: string }) => l.name === leaf.name)).to.include(leaf);
    }
  });

  it('train on an image folder: bad files are skipped and counted; --strict stops naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdgpu-cli-images-'));
    try {
      const rows = ['file,label,partition'];
      for (let i = 0; i < 20; i++) {
        const png = new PNG({ width: 8, height: 8 });
        for (let p = 0; p < 64; p++) png.data.set([i % 2 ? 220 : 40, 90, i % 2 ? 40 : 220, 255], 4 * p);
        writeFileSync(join(dir, `ok${i}.png`), PNG.sync.write(png));
        rows.push(`ok${i}.png,${i % 2 ? 'b' : 'a'},${i < 16 ? 'train' : 'test'}`);
      }
      writeFileSync(join(dir, 'broken.png'), PNG.sync.write(new PNG({ width: 8, height: 8 })).subarray(0, 40));
      rows.push('broken.png,a,train', 'gone.png,b,train');
      writeFileSync(join(dir, 'ann.csv'), rows.join('\n') + '\n');
      // A tiny RGB MLP keeps this about the data path (resnet-8 would spend the time compiling).
      const spec = { name: 'tiny-rgb', inputShape: [3, 8, 8], layers: [{ type: 'flatten' }, { type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 2 }] };
      writeFileSync(join(dir, 'spec.json'), JSON.stringify(spec));
      const args = ['train', '--model-spec', join(dir, 'spec.json'), '--dataset', `images:${join(dir, 'ann.csv')}`, '--image-size', '8', '--channels', '3', '--epochs', '1', '--batch', '8', '--json'];
      const r = await kdgpu(...args);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stderr).to.match(/skipped 2 of 22 rows/).and.match(/1 corrupt, 1 missing/).and.include('broken.png');
      const out = JSON.parse(r.stdout);
      expect(out.test.count ?? out.testCount ?? 4).to.equal(4);
      expectCleanError(await kdgpu(...args, '--strict'), /ann\.csv line 22: broken\.png/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('info --json describes the adapter', async () => {
    const r = await kdgpu('info', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const info = JSON.parse(r.stdout);
    expect(info.software).to.be.a('boolean');
    expect(info.features).to.be.an('array');
    expect(info.limits.maxBufferSize).to.be.a('number');
  });

  it('bench --json lists the benchmarks', async () => {
    const r = await kdgpu('bench', '--json');
    expect(r.code, r.stderr).to.equal(0);
    const names = JSON.parse(r.stdout).benchmarks.map((b: { name: string }) => b.name);
    expect(names).to.include.members(['matmul', 'cnn']);
  });

  describe('train then eval', () => {
    let weights: string;
    let trained: { history: { epoch: number; loss: number }[]; test: { accuracy: number; count: number }; out: string };

    before(async () => {
      weights = join(dir, 'student.safetensors');
      const r = await kdgpu('train', '--model', 'mnist-mlp-student', '--train-size', '512', '--test-size', '500', '--epochs', '1', '--out', weights, '--json');
      expect(r.code, r.stderr).to.equal(0);
      trained = JSON.parse(r.stdout);
    });

    it('train --json reports history and test metrics, and writes the weights', () => {
      expect(trained.history.map((h) => h.epoch)).to.deep.equal([1]);
      expect(trained.history[0].loss).to.be.a('number');
      expect(trained.test.count).to.equal(500);
      expect(trained.test.accuracy).to.be.within(0, 1);
      expect(trained.out).to.equal(weights);
      expect(existsSync(weights)).to.equal(true);
    });

    it('eval --json reads them back (the model named by the file)', async () => {
      const r = await kdgpu('eval', '--weights', weights, '--test-size', '500', '--json');
      expect(r.code, r.stderr).to.equal(0);
      const m = JSON.parse(r.stdout);
      expect(m.model).to.equal('mnist-mlp-student');
      expect(m.count).to.equal(500);
      expect(m.accuracy).to.be.within(0, 1);
      expect(m.accuracy).to.be.closeTo(trained.test.accuracy, 1e-9);
      expect(m.perClassAccuracy).to.have.length(10);
      expect(m.confusion.flat().reduce((a: number, b: number) => a + b, 0)).to.equal(500);
      expect(m.macroF1).to.be.within(0, 1);
    });

    it('rejects weights of a different model, naming the parameters', async () => {
      const r = await kdgpu('eval', '--weights', weights, '--model', 'mnist-cnn-teacher', '--test-size', '10');
      expectCleanError(r, /^kdgpu: .*student\.safetensors does not fit this model.*'?0\.weight/);
    });
  });

  it('gives one clean line for each user error', async () => {
    const corrupt = join(dir, 'corrupt.safetensors');
    writeFileSync(corrupt, 'this is not a safetensors file');
    const badSpec = join(dir, 'bad-spec.json');
    writeFileSync(badSpec, JSON.stringify({ inputShape: [1, 28, 28], layers: [{ type: 'flatten' }, { type: 'conv2d', out: 4, kernel: 3 }] }));
    const cases: [string[], RegExp][] = [
      [['summary', 'no-such-model'], /^kdgpu: unknown model 'no-such-model'; built-in models: .*mnist-cnn-teacher/],
      [['train', '--model', 'no-such-model'], /^kdgpu: unknown model 'no-such-model'/],
      [['eval', '--weights', join(dir, 'missing.safetensors'), '--model', 'mnist-mlp-student'], /^kdgpu: weights file .*missing\.safetensors does not exist$/],
      [['eval', '--weights', corrupt, '--model', 'mnist-mlp-student'], /^kdgpu: .*corrupt\.safetensors: header length/],
      [['train', '--model', 'mnist-mlp-student', '--epochs', 'abc'], /^error: option '--epochs <n>' argument 'abc' is invalid\. Expected a positive integer\.$/],
      [['train', '--model', 'mnist-mlp-student', '--dataset', join(dir, 'no-such-folder')], /^kdgpu: dataset '.*no-such-folder' is neither one of fashion-mnist, mnist, cifar10 nor an existing folder$/],
      [['train', '--model', 'mnist-mlp-student', '--optimizer', 'rmsprop'], /^error: option '--optimizer <name>' argument 'rmsprop' is invalid\. Allowed choices are adam, adamw, sgd\.$/],
      [['train', '--model-spec', badSpec], /^kdgpu: model spec .*bad-spec\.json: layers\[1\] \(conv2d\): needs a \[C, H, W\] input, got \[784\]$/],
      [['train', '--model', 'mnist-mlp-student', '--resume', corrupt], /^kdgpu: .*corrupt\.safetensors: header length/],
      [['bench', 'no-such-bench'], /^kdgpu: unknown benchmark 'no-such-bench'; benchmarks: .*matmul/],
    ];
    const runs = await Promise.all(cases.map(([args]) => kdgpu(...args)));
    runs.forEach((r, i) => expectCleanError(r, cases[i][1]));
  });

  it('says clearly when MNIST\'s training files are missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'kdgpu-no-mnist-'));
    const r = await finish(spawn(process.execPath, [BIN, 'train', '--model', 'mnist-mlp-student', '--dataset', 'mnist', '--epochs', '1', '--train-size', '64', '--test-size', '0'], {
      env: { ...process.env, KDGPU_MNIST: empty, XDG_CACHE_HOME: empty },
      stdio: ['ignore', 'pipe', 'pipe'],
    }));
    if (existsSync('/usr/share/datasets/mnist')) {
      expect(r.code, r.stderr).to.equal(0); // a machine with Debian's MNIST files trains on them
    } else {
      expectCleanError(r, /^kdgpu: MNIST \(train\) not found; looked in /, 2);
      expect(r.stderr).to.contain(empty).and.to.not.contain('shared');
    }
  });

  it('stops on Ctrl-C with a checkpoint that --resume continues', async () => {
    const ckpt = join(dir, 'run.ckpt.safetensors');
    const common = ['--model-spec', spec, '--train-size', '256', '--test-size', '100', '--batch', '64', '--checkpoint', ckpt, '--json'];
    const child = start(['train', ...common, '--epochs', '100000']);
    const running = finish(child);
    const killer = setTimeout(() => child.kill('SIGKILL'), 90_000); // never hang the suite
    while (!existsSync(ckpt) && child.exitCode === null) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const r = await running;
    clearTimeout(killer);
    expect(r.code, r.stderr).to.equal(130);
    expect(r.stderr).to.include('--resume');
    const stopped = JSON.parse(r.stdout);
    expect(stopped.stopReason).to.equal('signal');
    expect(stopped.checkpoint).to.equal(ckpt);
    const done = stopped.history.length;
    expect(done).to.be.at.least(1);

    const resumed = await kdgpu('train', ...common, '--epochs', String(done + 1), '--resume', ckpt);
    expect(resumed.code, resumed.stderr).to.equal(0);
    const res = JSON.parse(resumed.stdout);
    expect(res.history.map((h: { epoch: number }) => h.epoch)).to.deep.equal([done + 1]);
    expect(res.stopReason).to.equal('epochs');
    expect(res.test.accuracy).to.be.within(0, 1);
  });
});
