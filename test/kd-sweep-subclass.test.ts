/**
 * Distillation sweeps written to disk (JSON, CSV, SVG, PNG) from real runs of tiny MLPs, and
 * subclass distillation end to end on a 12,000-image Fashion-MNIST subset.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import * as kd from '../src/index.js';
import { setup } from './helpers.js';

/** Flatten → Linear → ReLU → … → Linear, seeded. */
function mlp(sizes: number[], seed: number): kd.nn.Module {
  const l = { rng: seed };
  const layers: kd.nn.Module[] = [new kd.nn.Flatten()];
  sizes.slice(1).forEach((n, i) => {
    if (i > 0) layers.push(new kd.nn.ReLU());
    layers.push(new kd.nn.Linear(sizes[i], n, l));
  });
  return new kd.nn.Sequential(...layers);
}

/** The point marks of the per-run layer (as in kd-report.test.ts). */
function runPoints(svg: string): string[] {
  const group = new RegExp(`<g class="mark-symbol role-mark ${kd.RUN_POINTS_LAYER}_marks"[^>]*>(.*?)</g>`, 's').exec(svg);
  return group ? (group[1].match(/<path [^>]*>/g) ?? []) : [];
}

function checkPng(path: string): void {
  const png = PNG.sync.read(readFileSync(path));
  expect(png.width, path).to.be.at.least(640);
  expect(png.height, path).to.be.at.least(480);
  const px = new Uint32Array(png.data.buffer, png.data.byteOffset, png.width * png.height);
  expect(px.some((p) => p !== px[0]), `${path} is one colour`).to.equal(true);
}

describe('kd sweeps of real distillation runs, written to disk', function () {
  this.timeout(300_000);
  let dir: string;
  let train: kd.ArrayDataset;
  let test: kd.ArrayDataset;
  let teacher: kd.nn.Module;
  before(async () => {
    await setup();
    dir = mkdtempSync(join(tmpdir(), 'kdgpu-sweep-'));
    train = kd.take(kd.fashionMnistDataset('train'), 0, 512);
    test = kd.take(kd.fashionMnistDataset('test'), 0, 200);
    teacher = mlp([784, 32, 10], 0);
    await kd.trainModel(teacher, train, { epochs: 2, batchSize: 64, test, role: 'teacher' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const sweep = (grid: kd.Grid, seeds: number[], fixed: { temperature?: number; alpha?: number }) =>
    kd.sweepDistillation({
      grid, seeds, teacher, train,
      student: (seed) => mlp([784, 32, 10], 100 + seed),
      config: { ...fixed, epochs: 1, batchSize: 64, test, validation: test },
    });

  it('a T sweep (3 temperatures × 2 seeds): JSON, CSV, one point per run and metric, PNGs ≥ 640×480', async () => {
    const result = await sweep({ temperature: [1, 4, 16] }, [0, 1], { alpha: 0.5 });
    expect(result.runs.map((r) => [r.config.temperature, r.seed])).to.deep.equal([[1, 0], [1, 1], [4, 0], [4, 1], [16, 0], [16, 1]]);
    for (const r of result.runs) {
      expect(r.config.alpha).to.equal(0.5);
      expect(r.test.accuracy).to.be.within(0.3, 1); // a 1-epoch student of a 512-image set beats chance (0.1)
    }
    const out = join(dir, 't');
    const written = await kd.writeSweepOutputs(result, out);
    const expected = ['results.json', 'results.csv', 'history.csv', ...['metrics_vs_temperature', 'curves_val_accuracy', 'curves_loss'].flatMap((n) => [`${n}.svg`, `${n}.png`])];
    expect(written).to.deep.equal(expected.map((n) => join(out, n)));
    for (const p of written) expect(existsSync(p), p).to.equal(true);
    for (const p of written.filter((p) => p.endsWith('.png'))) checkPng(p);

    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as kd.SweepResult;
    expect(json.runs).to.have.length(6);
    expect(json.seeds).to.deep.equal([0, 1]);
    expect(json.runs[0].hashes.teacher).to.match(/^[0-9a-f]{64}$/);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trimEnd().split('\r\n');
    expect(csv).to.have.length(7);
    expect(csv[0].split(',')).to.include.members(['name', 'seed', 'temperature', 'alpha', 'test_accuracy']);

    const points = runPoints(readFileSync(join(out, 'metrics_vs_temperature.svg'), 'utf8'));
    expect(points.filter((p) => p.includes('metric: accuracy'))).to.have.length(6);
    expect(points.filter((p) => p.includes('metric: macro F1'))).to.have.length(6);
    expect(points).to.have.length(12);
  });

  it('an alpha sweep (0.1, 0.5, 0.9) plots accuracy against alpha', async () => {
    const result = await sweep({ alpha: [0.1, 0.5, 0.9] }, [0], { temperature: 4 });
    expect(result.runs.map((r) => r.config.alpha)).to.deep.equal([0.1, 0.5, 0.9]);
    expect(result.runs.every((r) => r.config.temperature === 4)).to.equal(true);
    const out = join(dir, 'alpha');
    await kd.writeSweepOutputs(result, out);
    for (const n of ['results.json', 'results.csv', 'metrics_vs_alpha.svg']) expect(existsSync(join(out, n)), n).to.equal(true);
    checkPng(join(out, 'metrics_vs_alpha.png'));
    const points = runPoints(readFileSync(join(out, 'metrics_vs_alpha.svg'), 'utf8'));
    expect(points.filter((p) => p.includes('metric: accuracy'))).to.have.length(3);
  });
});

describe('subclass distillation end to end (Fashion-MNIST, 12,000 images)', function () {
  this.timeout(600_000);
  const C = 10;
  const S = 2;

  it('a subclass teacher and a subclass student each reach ≥ 75% test accuracy; the teacher uses both subclasses of most classes', async () => {
    await setup();
    const train = kd.take(kd.fashionMnistDataset('train'), 0, 12000);
    const test = kd.take(kd.fashionMnistDataset('test'), 0, 2000);
    // Small MLPs, 2 epochs at lr 2e-3: about half a minute on SwiftShader.
    const common = { classes: C, subclasses: S, epochs: 2, batchSize: 128, lr: 2e-3, test };
    const teacherModel = mlp([784, 128, 128, C * S], 1);
    const teacher = await kd.trainSubclassTeacher(teacherModel, train, { ...common, temperature: 0.5, beta: 1 });
    const student = await kd.distillSubclasses(mlp([784, 64, C * S], 2), teacherModel, train, { ...common, temperature: 4, alpha: 0.5, beta: 0 });
    console.log(`      subclass teacher ${(100 * teacher.test.accuracy).toFixed(2)}%, subclass student ${(100 * student.test.accuracy).toFixed(2)}% (${test.count} test images)`);
    expect(teacher.test.accuracy).to.be.at.least(0.75);
    expect(student.test.accuracy).to.be.at.least(0.75);
    expect(teacher.config.role).to.equal('subclass-teacher');
    expect(student.config.role).to.equal('subclass-student');

    // Which of the 20 outputs wins for each test image: both subclasses of a class should win sometimes.
    const z = await kd.nn.predict(teacherModel, test);
    const wins = new Array<number>(C * S).fill(0);
    for (let i = 0; i < test.count; i++) {
      let best = 0;
      for (let k = 1; k < C * S; k++) if (z[i * C * S + k] > z[i * C * S + best]) best = k;
      wins[best]++;
    }
    const bothUsed = Array.from({ length: C }, (_, c) => wins.slice(c * S, c * S + S).every((w) => w > 0)).filter(Boolean).length;
    console.log(`      argmax counts per subclass: ${wins.join(' ')}; classes using both subclasses: ${bothUsed}/${C}`);
    expect(bothUsed).to.be.at.least(6);
  });
});
