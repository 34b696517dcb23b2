/**
 * Files and failures, as a hostile user meets them through the CLI (issue 23). The corpus is made
 * here, in a temporary folder (nothing large is committed). Every refused case must: exit non-zero
 * with one clear line naming the file or option, finish (a child still running after the bound is
 * killed and fails the test), leave every input and earlier output byte-identical (SHA-256 before
 * and after), be refused before the GPU starts (the children run with KDGPU_ADAPTER=hardware: on a
 * machine without a GPU, reaching the GPU would print a different error), and peak at ≤ 400 MB
 * resident (VmHWM, read by a preload in the child at exit).
 * Kill tests: a test hook (KDGPU_TEST_PAUSE_WRITES) stops each atomic writer after half its bytes;
 * SIGKILL there leaves the previous weights, checkpoint and sweep results intact.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, closeSync, openSync, ftruncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { ownStderrLines } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kdgpu.mjs');
const PRELOAD = join(ROOT, 'test', 'fixtures', 'vmhwm-at-exit.mjs');
const BOUND_MS = 90_000;
const MAX_HWM_KB = 400 * 1024;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  hwmKb: number | null;
}

function kdgpu(args: string[], env: Record<string, string> = {}, onSpawn?: (pid: number) => void): Promise<Run> {
  const hwmFile = join(tmpdir(), `kdgpu-hwm-${process.pid}-${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', PRELOAD, BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, KDGPU_VMHWM_FILE: hwmFile, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn?.(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kdgpu ${args.join(' ')} did not finish within ${BOUND_MS / 1000} s\n${stderr}`));
    }, BOUND_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const hwmKb = existsSync(hwmFile) ? Number(readFileSync(hwmFile, 'utf8')) : null;
      rmSync(hwmFile, { force: true });
      resolve({ code, signal, stdout, stderr, hwmKb });
    });
  });
}

const sha = (p: string) => (existsSync(p) ? createHash('sha256').update(readFileSync(p)).digest('hex') : 'absent');

function idx(typeCode: number, dims: number[], body: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = typeCode;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(body)]);
}

/** An MNIST-layout folder: n train and m test images of side×side, labels in 0…9 unless `testLabels` says otherwise. */
function idxFolder(dir: string, o: { n?: number; m?: number; side?: number; testSide?: number; testLabels?: Uint8Array; mutate?: (name: string, gz: Buffer) => Buffer } = {}): string {
  mkdirSync(dir, { recursive: true });
  const { n = 256, m = 64, side = 28, testSide = side } = o;
  const px = (count: number, s: number) => Uint8Array.from({ length: count * s * s }, (_, i) => (i * 37) % 256);
  const labels = (count: number) => Uint8Array.from({ length: count }, (_, i) => i % 10);
  const files: [string, Buffer][] = [
    ['train-images-idx3-ubyte.gz', idx(0x08, [n, side, side], px(n, side))],
    ['train-labels-idx1-ubyte.gz', idx(0x08, [n], labels(n))],
    ['t10k-images-idx3-ubyte.gz', idx(0x08, [m, testSide, testSide], px(m, testSide))],
    ['t10k-labels-idx1-ubyte.gz', idx(0x08, [m], o.testLabels ?? labels(m))],
  ];
  for (const [name, raw] of files) writeFileSync(join(dir, name), (o.mutate ?? ((_, g) => g))(name, gzipSync(raw)));
  return dir;
}

describe('files and failures (hostile inputs through the CLI)', function () {
  this.timeout(20 * 60_000);
  let dir: string;
  let data: string;
  let teacher: string;
  let spec: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-files-'));
    data = idxFolder(join(dir, 'data'));
    spec = join(dir, 'spec.json');
    writeFileSync(spec, JSON.stringify({ name: 'tiny', inputShape: [1, 28, 28], layers: [{ type: 'flatten' }, { type: 'linear', out: 16 }, { type: 'relu' }, { type: 'linear', out: 10 }] }));
    teacher = join(dir, 'teacher.safetensors');
    const r = await kdgpu(['train', '--model-spec', spec, '--dataset', data, '--epochs', '1', '--batch', '64', '--test-size', '0', '--no-progress', '--out', teacher]);
    expect(r.code, r.stderr).to.equal(0);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a case that must be refused; checks the exit, the one line, the files, the GPU and the memory. */
  async function refused(args: string[], line: RegExp, watched: string[] = []): Promise<void> {
    const before = watched.map(sha);
    const r = await kdgpu(args, { KDGPU_ADAPTER: 'hardware' });
    const lines = ownStderrLines(r.stderr);
    expect(r.code, r.stderr).to.not.equal(0);
    expect(lines, r.stderr).to.have.length(1);
    expect(lines[0]).to.match(line);
    expect(lines[0]).to.not.match(/no hardware WebGPU adapter/, 'the GPU was reached before the refusal');
    expect(lines[0].length).to.be.below(600);
    expect(watched.map(sha), 'inputs and earlier outputs unchanged').to.deep.equal(before);
    expect(r.hwmKb, 'VmHWM recorded').to.be.a('number');
    expect(r.hwmKb!, `peak resident memory ${r.hwmKb} kB`).to.be.at.most(MAX_HWM_KB);
  }

  describe('losing files: an output that is an input, or another output, is refused before any work', () => {
    it('distill --out names the teacher (directly, through a symbolic link, through a hard link)', async () => {
      const sym = join(dir, 'teacher-link.safetensors');
      const hard = join(dir, 'teacher-hard.safetensors');
      symlinkSync(teacher, sym);
      linkSync(teacher, hard);
      const base = ['distill', '--teacher', teacher, '--student', 'mnist-mlp-student', '--dataset', data, '--epochs', '1'];
      for (const out of [teacher, sym, hard]) {
        await refused([...base, '--out', out], /--out .* is also --teacher .*: kdgpu never writes over an input; choose another file$/, [teacher]);
      }
    });

    it('train --out names the --resume checkpoint, the model spec or the --checkpoint', async () => {
      const ck = join(dir, 'ck.safetensors');
      writeFileSync(ck, 'not read: the refusal comes first');
      await refused(['train', '--model-spec', spec, '--dataset', data, '--resume', ck, '--out', ck], /--out .*ck\.safetensors is also --resume/, [ck]);
      await refused(['train', '--model-spec', spec, '--dataset', data, '--out', spec], /--out .*spec\.json is also --model-spec/, [spec]);
      await refused(['train', '--model-spec', spec, '--dataset', data, '--out', join(dir, 'w.safetensors'), '--checkpoint', join(dir, 'w.safetensors')], /--out and --checkpoint name the same file/);
    });

    it('sweep and demo: an output folder that would overwrite an input', async () => {
      const inDir = join(dir, 'sweep-out');
      mkdirSync(inDir, { recursive: true });
      const t2 = join(inDir, 'results.json');
      writeFileSync(t2, readFileSync(teacher));
      await refused(['sweep', '--teacher', t2, '--student', 'mnist-mlp-student', '--dataset', data, '--T', '1,2', '--out', inDir], /--out .*sweep-out \(its results\.json\) is also --teacher/, [t2]);
    });
  });

  describe('losing finished work: outputs and every split checked before training', () => {
    it('an --out in a missing folder, or that is a folder, is refused before training', async () => {
      await refused(['train', '--model-spec', spec, '--dataset', data, '--out', join(dir, 'no', 'such', 'w.safetensors')], /--out .*w\.safetensors: folder .*such does not exist$/);
      await refused(['train', '--model-spec', spec, '--dataset', data, '--out', dir], /--out .* is a folder, expected a file name$/);
      await refused(['sweep', '--teacher', teacher, '--student', 'mnist-mlp-student', '--dataset', data, '--T', '1,2', '--out', join(dir, 'no', 'such', 'sweep')], /--out .*sweep: folder .*no\/such does not exist$/);
      await refused(['distill', '--teacher', teacher, '--student', 'mnist-mlp-student', '--dataset', data, '--out', join(teacher, 'x.safetensors')], /--out .*x\.safetensors: folder .*teacher\.safetensors does not exist$/, [teacher]);
    });

    it('a test split with a bad label, or another image shape, is found before training', async () => {
      const badLabel = idxFolder(join(dir, 'bad-label'), { testLabels: Uint8Array.from({ length: 64 }, (_, i) => (i === 17 ? 12 : i % 10)) });
      await refused(['train', '--model-spec', spec, '--dataset', badLabel, '--out', join(dir, 'w1.safetensors')], /\(test\): sample 17 has label 12, expected 0…9 \(10 classes\)$/);
      const badShape = idxFolder(join(dir, 'bad-shape'), { testSide: 20 });
      await refused(['distill', '--teacher', teacher, '--student', 'mnist-mlp-student', '--dataset', badShape, '--out', join(dir, 'w2.safetensors')], /bad-shape \(test\) has samples of shape \[1, 20, 20\], the other splits \[1, 28, 28\]$/, [teacher]);
    });
  });

  describe('small inputs, huge memory: budgets decided from headers', () => {
    it('a 1 MB gzipped IDX file that inflates to 1 GB is refused at the size its header declares', async () => {
      const bomb = idxFolder(join(dir, 'bomb'), {
        mutate: (name, gz) => (name.startsWith('train-images') ? gzipSync(Buffer.concat([idx(0x08, [256, 28, 28], new Uint8Array(256 * 784)), Buffer.alloc(1 << 30)]), { level: 9 }) : gz),
      });
      expect(readFileSync(join(bomb, 'train-images-idx3-ubyte.gz')).length).to.be.below(2 << 20);
      await refused(['train', '--model-spec', spec, '--dataset', bomb, '--out', join(dir, 'w3.safetensors')], /train-images-idx3-ubyte\.gz: decompresses to more than the 200720 bytes its IDX header declares/);
    });

    it('a model spec with a 5·10⁷-wide Linear is refused from the JSON (and --max-params raises the bound)', async () => {
      const wide = join(dir, 'wide.json');
      writeFileSync(wide, JSON.stringify({ inputShape: [1, 28, 28], layers: [{ type: 'flatten' }, { type: 'linear', out: 5e7 }, { type: 'linear', out: 10 }] }));
      await refused(['train', '--model-spec', wide, '--dataset', data, '--out', join(dir, 'w4.safetensors')], /layers\[1\] \(linear\): brings the parameters to 39,250,000,000, more than the limit of 100,000,000 \(raise it with limits\.params or --max-params\)$/);
      // Raised, the spec passes the check and the run goes on to the GPU (here: none, by design).
      const raised = await kdgpu(['train', '--model-spec', wide, '--max-params', '50000000000', '--dataset', data, '--out', join(dir, 'w4.safetensors')], { KDGPU_ADAPTER: 'hardware' });
      expect(raised.code).to.not.equal(0);
      expect(raised.stderr).to.not.contain('more than the limit');
    });

    it('a 16-bit RGB PNG in a grayscale image folder is refused from its header (strict), not decoded', async () => {
      const folder = join(dir, 'png');
      mkdirSync(folder, { recursive: true });
      const png = new PNG({ width: 4000, height: 4000, bitDepth: 16, colorType: 2, inputColorType: 2, inputHasAlpha: false });
      png.data = Buffer.alloc(4000 * 4000 * 6);
      writeFileSync(join(folder, 'big.png'), PNG.sync.write(png, { bitDepth: 16, colorType: 2, inputColorType: 2, inputHasAlpha: false }));
      writeFileSync(join(folder, 'ann.csv'), 'file,label,partition\nbig.png,a,train\n');
      await refused(['train', '--model-spec', spec, '--dataset', `images:${join(folder, 'ann.csv')}`, '--image-size', '28', '--channels', '1', '--strict', '--out', join(dir, 'w5.safetensors')], /big\.png: PNG has 3 channels \(color\), expected 1 channel \(grayscale\)/);
    });

    it('a safetensors file with a 100 MB header is refused before parsing, in one short line', async () => {
      const p = join(dir, 'huge-header.safetensors');
      const fd = openSync(p, 'w');
      const head = Buffer.alloc(8);
      head.writeBigUInt64LE(BigInt(100 * 2 ** 20));
      writeSync(fd, head);
      ftruncateSync(fd, 8 + 100 * 2 ** 20); // sparse: 100 MB of zeros
      closeSync(fd);
      await refused(['eval', '--weights', p, '--model', 'mnist-mlp-student', '--dataset', data], /huge-header\.safetensors: header length 104857600 exceeds the 16777216-byte limit/);
    });
  });

  describe('damage that passed, noise and internals', () => {
    it('corrupt gzip (a flipped CRC byte, a cut stream) is refused', async () => {
      const flip = idxFolder(join(dir, 'flip'), { mutate: (name, gz) => (name.startsWith('t10k-labels') ? Buffer.from(gz.map((b, i) => (i === gz.length - 6 ? b ^ 1 : b))) : gz) });
      await refused(['train', '--model-spec', spec, '--dataset', flip, '--out', join(dir, 'w6.safetensors')], /t10k-labels-idx1-ubyte\.gz: corrupt gzip data \(its CRC does not match the data\)$/);
      const cut = idxFolder(join(dir, 'cut'), { mutate: (name, gz) => (name.startsWith('train-labels') ? gz.subarray(0, gz.length - 12) : gz) });
      await refused(['train', '--model-spec', spec, '--dataset', cut, '--out', join(dir, 'w7.safetensors')], /train-labels-idx1-ubyte\.gz: corrupt gzip data/);
    });

    it('a truncated .h5, a folder where a file is expected: one line naming the file', async () => {
      const h5 = readFileSync(join(ROOT, 'test', 'fixtures', 'keras_mnist_cnn_teacher.h5'));
      const bad = join(dir, 'bad.h5');
      writeFileSync(bad, h5.subarray(0, h5.length >> 1));
      await refused(['eval', '--weights', bad, '--model', 'mnist-cnn-teacher', '--dataset', data], /bad\.h5: truncated/, [bad]);
      await refused(['eval', '--weights', dir, '--model', 'mnist-mlp-student', '--dataset', data], /weights file .* is not a file$/);
      await refused(['train', '--model-spec', dir, '--dataset', data], /model spec file .* is not a file$/);
      // Names that are properties of every JavaScript object are not models.
      await refused(['summary', 'constructor'], /^kdgpu: unknown model 'constructor'; built-in models: /);
      await refused(['train', '--model', '__proto__', '--dataset', data], /^kdgpu: unknown model '__proto__'; built-in models: /);
    });
  });

  describe('kill tests: SIGKILL halfway through a write leaves the previous file intact', () => {
    async function killMidWrite(args: string[], file: string): Promise<void> {
      const marker = join(dir, `pause-${Math.random().toString(36).slice(2)}`);
      const before = sha(file);
      expect(before).to.not.equal('absent');
      let pid = 0;
      const run = kdgpu(args, { KDGPU_TEST_PAUSE_WRITES: marker }, (p) => (pid = p));
      while (!existsSync(marker)) {
        await new Promise((r) => setTimeout(r, 50));
        if (pid === 0) continue;
      }
      process.kill(pid, 'SIGKILL');
      const r = await run;
      expect(r.signal).to.equal('SIGKILL');
      expect(sha(file), `${file} after a kill halfway through its rewrite`).to.equal(before);
    }

    it('weights (train --out), checkpoints (train --checkpoint), sweep results (sweep --out)', async () => {
      const w = join(dir, 'kill-w.safetensors');
      writeFileSync(w, readFileSync(teacher));
      await killMidWrite(['train', '--model-spec', spec, '--dataset', data, '--epochs', '1', '--test-size', '0', '--no-progress', '--out', w], w);
      const ck = join(dir, 'kill-ck.safetensors');
      writeFileSync(ck, readFileSync(teacher));
      await killMidWrite(['train', '--model-spec', spec, '--dataset', data, '--epochs', '1', '--test-size', '0', '--no-progress', '--checkpoint', ck], ck);
      const sweepDir = join(dir, 'kill-sweep');
      mkdirSync(sweepDir, { recursive: true });
      writeFileSync(join(sweepDir, 'results.json'), '{"earlier": "results"}\n');
      await killMidWrite(['sweep', '--teacher', teacher, '--student', 'mnist-mlp-student', '--dataset', data, '--T', '1,2', '--epochs', '1', '--test-size', '32', '--no-progress', '--out', sweepDir], join(sweepDir, 'results.json'));
    });
  });
});
