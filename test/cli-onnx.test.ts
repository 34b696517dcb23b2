/**
 * ONNX files wherever the CLI takes a model file: `eval --weights x.onnx` gives PyTorch's accuracy
 * on the model it was exported from (test/fixtures/onnx_mnist_cnn_teacher.json, written by
 * make_onnx_fixtures.py), `distill --teacher x.onnx` runs end to end, `summary x.onnx` counts it,
 * and the input-scaling options reach the model.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ownStderrLines } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'kdgpu.mjs');
const TEACHER = join(ROOT, 'test', 'fixtures', 'onnx_mnist_cnn_teacher.onnx');
const TORCH = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'onnx_mnist_cnn_teacher.json'), 'utf8')) as { accuracy: number; count: number };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kdgpu(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function json<T>(...args: string[]): Promise<T> {
  const r = await kdgpu(...args, '--json');
  expect(r.code, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as T;
}

describe('kdgpu CLI with ONNX models', function () {
  this.timeout(10 * 60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-cli-onnx-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("eval --weights teacher.onnx --dataset fashion-mnist: PyTorch's accuracy on all 10,000 test images", async () => {
    const r = await json<{ model: string; count: number; accuracy: number }>('eval', '--weights', TEACHER, '--dataset', 'fashion-mnist');
    expect(r.model).to.equal('onnx_mnist_cnn_teacher.onnx');
    expect(r.count).to.equal(TORCH.count);
    expect(r.accuracy).to.be.closeTo(TORCH.accuracy, 1e-6);
  });

  it('--onnx-scale reaches the model (inputs ×255 change the predictions)', async () => {
    const plain = await json<{ accuracy: number }>('eval', '--weights', TEACHER, '--test-size', '300');
    const scaled = await json<{ accuracy: number }>('eval', '--weights', TEACHER, '--test-size', '300', '--onnx-scale', '255');
    expect(scaled.accuracy).to.not.equal(plain.accuracy);
  });

  it('distill --teacher teacher.onnx --student mnist-mlp-student runs end to end', async () => {
    const r = await json<{ teachers: { model: string }[]; history: unknown[]; test: { accuracy: number } }>(
      'distill', '--teacher', TEACHER, '--student', 'mnist-mlp-student', '-T', '4', '--alpha', '0.9',
      '--train-size', '1000', '--test-size', '500', '--epochs', '3', '--batch', '128', '--no-progress', '--out', join(dir, 'student.safetensors'),
    );
    expect(r.teachers[0].model).to.equal('onnx_mnist_cnn_teacher.onnx');
    expect(r.history).to.have.length(3);
    expect(r.test.accuracy).to.be.greaterThan(0.5);
  });

  it('summary teacher.onnx counts the layers like the built-in twin', async () => {
    const r = await json<{ params: number; flops: number }>('summary', TEACHER);
    const twin = await json<{ params: number; flops: number }>('summary', 'mnist-cnn-teacher');
    expect(r.params).to.equal(1011466);
    expect(r.flops).to.equal(twin.flops);
  });

  it('an ONNX file with --teacher-model or --model is one clear error', async () => {
    for (const args of [
      ['distill', '--teacher', TEACHER, '--teacher-model', 'mnist-cnn-teacher', '--student', 'mnist-mlp-student', '--out', join(dir, 'x.safetensors')],
      ['eval', '--weights', TEACHER, '--model', 'mnist-cnn-teacher'],
    ]) {
      const r = await kdgpu(...args);
      expect(r.code).to.not.equal(0);
      const lines = ownStderrLines(r.stderr);
      expect(lines, r.stderr).to.have.length(1);
      expect(lines[0]).to.match(/onnx_mnist_cnn_teacher\.onnx is an ONNX model with its own architecture; leave out --(teacher-model and --teacher-spec|model and --model-spec)$/);
    }
  });
});
