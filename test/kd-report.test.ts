/**
 * Sweeps, CSV/JSON reports, plots and PNG output of the KD library, on synthetic runs (no GPU).
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { svgToPng, writeSweepOutputs } from '../src/kd/node-report.js';
import { comparisonBarsSpec, plotComparisonBars, plotMetricVsParam, plotTrainingCurves, RUN_POINTS_LAYER } from '../src/kd/plots.js';
import { historyToCsv, runsToCsv, runsToJson, summarizeBy } from '../src/kd/report.js';
import { ALPHA_GRID, expandGrid, runSweep, T_GRID } from '../src/kd/sweep.js';
import type { ConfigValue, RunRecord } from '../src/kd/types.js';

/** A deterministic fake run: accuracy depends on config and seed, three epochs of history. */
function fakeRun(config: Record<string, ConfigValue>, seed: number, name?: string): RunRecord {
  const t = typeof config.T === 'number' ? config.T : 1;
  const a = typeof config.alpha === 'number' ? config.alpha : 0.5;
  const acc = 0.8 + 0.02 * Math.log2(t) - 0.05 * (a - 0.5) ** 2 + 0.003 * seed;
  return {
    name: name ?? `T=${t} alpha=${a} seed=${seed}`,
    config: { role: 'student', epochs: 3, ...config },
    seed,
    hashes: { data: 'abc123', teacher: 'def456' },
    history: [1, 2, 3].map((epoch) => ({
      epoch,
      loss: 1 / epoch + 0.01 * seed,
      seconds: 1.5,
      imagesPerSecond: 1000,
      lr: 1e-3,
      val: { count: 100, accuracy: acc - 0.1 / epoch, perClassAccuracy: [], macroF1: acc - 0.12 / epoch, confusion: [], loss: 0.5 / epoch },
    })),
    test: { accuracy: acc, macroF1: acc - 0.01 },
    seconds: 4.5,
  };
}

/** The point marks of the per-run layer, as the SVG's `<path>` elements. */
function runPoints(svg: string): string[] {
  const group = new RegExp(`<g class="mark-symbol role-mark ${RUN_POINTS_LAYER}_marks"[^>]*>(.*?)</g>`, 's').exec(svg);
  if (!group) return [];
  return group[1].match(/<path [^>]*>/g) ?? [];
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg [^>]*width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg);
  expect(m, 'svg width/height').to.not.equal(null);
  return { width: Number(m![1]), height: Number(m![2]) };
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF), to check what runsToCsv writes. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  expect(field, 'CSV ends with CRLF').to.equal('');
  return rows;
}

describe('kd sweep', () => {
  it('expands a grid with the first key varying slowest', () => {
    expect(expandGrid({ T: [1, 2], alpha: [0.1, 0.5, 0.9] })).to.deep.equal([
      { T: 1, alpha: 0.1 }, { T: 1, alpha: 0.5 }, { T: 1, alpha: 0.9 },
      { T: 2, alpha: 0.1 }, { T: 2, alpha: 0.5 }, { T: 2, alpha: 0.9 },
    ]);
    expect(expandGrid({ model: ['a'], flag: [true, false], x: [null] })).to.deep.equal([
      { model: 'a', flag: true, x: null },
      { model: 'a', flag: false, x: null },
    ]);
    expect(expandGrid({})).to.deep.equal([{}]);
    expect(expandGrid({ T: T_GRID, alpha: ALPHA_GRID })).to.have.length(30);
  });

  it('rejects bad grids, naming the key', () => {
    expect(() => expandGrid({ T: [1], alpha: [] })).to.throw(/"alpha".*empty/);
    expect(() => expandGrid({ T: 4 as unknown as number[] })).to.throw(/"T".*array/);
    expect(() => expandGrid({ T: [1, NaN] })).to.throw(/"T".*#1/);
    expect(() => expandGrid({ T: [{} as unknown as number] })).to.throw(/"T"/);
    expect(() => expandGrid({ T: [2, 2] })).to.throw(/"T".*distinct/);
  });

  it('runs every grid point for every seed, in order', async () => {
    const calls: string[] = [];
    const seen: [number, number][] = [];
    const result = await runSweep({
      grid: { T: [1, 4], alpha: [0.5] },
      seeds: [0, 7],
      run: async (config, seed) => (calls.push(`${config.T}/${config.alpha}/${seed}`), fakeRun(config, seed)),
      onRun: (_r, i, total) => seen.push([i, total]),
    });
    expect(calls).to.deep.equal(['1/0.5/0', '1/0.5/7', '4/0.5/0', '4/0.5/7']);
    expect(seen).to.deep.equal([[0, 4], [1, 4], [2, 4], [3, 4]]);
    expect(result.runs.map((r) => [r.config.T, r.seed])).to.deep.equal([[1, 0], [1, 7], [4, 0], [4, 7]]);
    expect(result.grid).to.deep.equal({ T: [1, 4], alpha: [0.5] });
    expect(result.seeds).to.deep.equal([0, 7]);
  });

  it('names the failing run and rejects bad seeds', async () => {
    const run = async (config: Record<string, ConfigValue>, seed: number) => {
      if (config.T === 4) throw new Error('out of memory');
      return fakeRun(config, seed);
    };
    let err: Error | undefined;
    await runSweep({ grid: { T: [1, 4] }, run }).catch((e: Error) => (err = e));
    expect(err?.message).to.match(/run 2\/2 .*"T":4.*seed 0.*out of memory/);
    let err2: Error | undefined;
    await runSweep({ grid: { T: [1] }, seeds: [], run }).catch((e: Error) => (err2 = e));
    expect(err2?.message).to.match(/seeds/);
  });
});

describe('kd report', () => {
  it('writes one CSV row per run, config keys as sorted columns, RFC 4180 quoting', () => {
    const a = fakeRun({ T: 4 }, 0, 'tricky, "quoted"\nname');
    const b = fakeRun({ alpha: 0.3, seed: 'clash' }, 1);
    b.hashes = {};
    b.test.rocAuc = 0.97;
    const text = runsToCsv([a, b]);
    expect(text.endsWith('\r\n')).to.equal(true);
    const rows = parseCsv(text);
    expect(rows[0]).to.deep.equal([
      'name', 'seed', 'T', 'alpha', 'config.epochs', 'role', 'config.seed',
      'data_hash', 'teacher_hash', 'test_accuracy', 'test_macro_f1', 'test_roc_auc', 'seconds', 'epochs',
    ]);
    expect(rows).to.have.length(3);
    expect(rows[1][0]).to.equal('tricky, "quoted"\nname');
    expect(text).to.contain('"tricky, ""quoted""\nname"');
    expect(rows[1].slice(1, 7)).to.deep.equal(['0', '4', '', '3', 'student', '']);
    expect(rows[1].slice(7)).to.deep.equal(['abc123', 'def456', String(a.test.accuracy), String(a.test.macroF1), '', '4.5', '3']);
    expect(rows[2].slice(1, 7)).to.deep.equal(['1', '', '0.3', '3', 'student', 'clash']);
    expect(rows[2].slice(7)).to.deep.equal(['', '', String(b.test.accuracy), String(b.test.macroF1), '0.97', '4.5', '3']);
  });

  it('writes one history row per run and epoch', () => {
    const a = fakeRun({ T: 2 }, 0);
    const b = fakeRun({ T: 4 }, 1);
    delete b.history[2].val;
    const rows = parseCsv(historyToCsv([a, b]));
    expect(rows[0]).to.deep.equal(['name', 'seed', 'epoch', 'loss', 'val_accuracy', 'val_macro_f1', 'val_loss', 'seconds']);
    expect(rows).to.have.length(1 + 6);
    expect(rows[1]).to.deep.equal([a.name, '0', '1', '1', String(a.history[0].val!.accuracy), String(a.history[0].val!.macroF1), '0.5', '1.5']);
    expect(rows[6]).to.deep.equal([b.name, '1', '3', String(b.history[2].loss), '', '', '', '1.5']);
  });

  it('summarizes test metrics per config value across seeds', () => {
    const run = (T: number | undefined, seed: number, accuracy: number, macroF1: number): RunRecord => {
      const r = fakeRun(T === undefined ? {} : { T }, seed);
      if (T === undefined) delete r.config.T;
      r.test = { accuracy, macroF1 };
      return r;
    };
    const runs = [run(4, 0, 0.8, 0.7), run(1, 0, 0.5, 0.4), run(4, 1, 0.9, 0.6), run(4, 2, 0.7, 0.8), run(undefined, 0, 0.99, 0.99)];
    const s = summarizeBy(runs, 'T');
    expect(s.map((x) => [x.value, x.n])).to.deep.equal([[1, 1], [4, 3]]);
    expect(s[0].accuracyMean).to.equal(0.5);
    expect(s[0].accuracyStd).to.be.NaN;
    expect(s[1].accuracyMean).to.be.closeTo(0.8, 1e-12);
    expect(s[1].accuracyStd).to.be.closeTo(0.1, 1e-12); // deviations ±0.1, 0: sqrt(0.02 / 2)
    expect(s[1].macroF1Mean).to.be.closeTo(0.7, 1e-12);
    expect(s[1].macroF1Std).to.be.closeTo(0.1, 1e-12);
    expect(summarizeBy(runs, 'missing')).to.deep.equal([]);
  });

  it('writes everything as JSON', async () => {
    const result = await runSweep({ grid: { T: [2] }, seeds: [3], run: async (c, s) => fakeRun(c, s) });
    expect(JSON.parse(runsToJson(result))).to.deep.equal(JSON.parse(JSON.stringify(result)));
    expect(runsToJson(result)).to.contain('\n  "grid"');
  });
});

describe('kd plots', function () {
  this.timeout(120_000);

  it('draws one point per run and metric, on a chart of at least 640x480', async () => {
    const runs = T_GRID.flatMap((T) => [0, 1].map((s) => fakeRun({ T }, s)));
    const svg = await plotMetricVsParam(runs, { param: 'T', metrics: ['accuracy'] });
    const size = svgSize(svg);
    expect(size.width).to.be.at.least(640);
    expect(size.height).to.be.at.least(480);
    expect(runPoints(svg)).to.have.length(runs.length);
    expect(svg).to.contain('test accuracy vs T'); // title
    expect(svg).to.contain('role-axis-title');
    // Leaving a run's T out leaves out its point.
    const fewer = runs.slice(1).concat([fakeRun({ alpha: 0.5 }, 0)]);
    delete fewer[fewer.length - 1].config.T;
    expect(runPoints(await plotMetricVsParam(fewer, { param: 'T', metrics: ['accuracy'] }))).to.have.length(runs.length - 1);
  });

  it('draws training curves and comparison bars', async () => {
    const runs = [fakeRun({ T: 1 }, 0), fakeRun({ T: 4 }, 0)];
    const curves = await plotTrainingCurves(runs, { metric: 'val_accuracy' });
    expect(svgSize(curves).width).to.be.at.least(640);
    expect(curves).to.contain('validation accuracy');
    // One line mark group per run.
    expect(curves.match(/<g class="mark-line role-mark[^"]*"/g)).to.have.length(runs.length);
    const entries = [
      { name: 'teacher', accuracy: 0.91 },
      { name: 'assistant', accuracy: 0.88, std: 0.01 },
      { name: 'student', accuracy: 0.86, std: 0.02 },
      { name: 'scratch', accuracy: 0.84, std: 0.015 },
    ];
    const bars = await plotComparisonBars(entries, { title: 'Teacher vs students' });
    const size = svgSize(bars);
    expect(size.width).to.be.at.least(640);
    expect(size.height).to.be.at.least(480);
    expect(bars).to.contain('Teacher vs students');
    const barGroup = /<g class="mark-rect role-mark layer_0_marks"[^>]*>(.*?)<\/g>/s.exec(bars);
    expect(barGroup![1].match(/<path /g)).to.have.length(4);
    expect(JSON.stringify(comparisonBarsSpec(entries, { title: 't' }))).to.contain('errorbar');
  });
});

describe('kd node report', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kdgpu-report-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function checkPng(path: string): void {
    const png = PNG.sync.read(readFileSync(path));
    expect(png.width, path).to.be.at.least(640);
    expect(png.height, path).to.be.at.least(480);
    const px = new Uint32Array(png.data.buffer, png.data.byteOffset, png.width * png.height);
    expect(px.some((p) => p !== px[0]), `${path} is one colour`).to.equal(true);
  }

  it('writes a T sweep: JSON, CSVs, plots as SVG and PNG', async () => {
    const result = await runSweep({ grid: { T: T_GRID, alpha: [0.5] }, seeds: [0, 1], run: async (c, s) => fakeRun(c, s) });
    const out = join(dir, 'T-sweep', 'nested');
    const written = await writeSweepOutputs(result, out);
    const names = ['results.json', 'results.csv', 'history.csv', 'metrics_vs_T', 'curves_val_accuracy', 'curves_loss']
      .flatMap((n) => (n.includes('.') ? [n] : [`${n}.svg`, `${n}.png`]));
    expect(written).to.deep.equal(names.map((n) => join(out, n)));
    for (const p of written) expect(existsSync(p), p).to.equal(true);
    for (const p of written.filter((p) => p.endsWith('.png'))) checkPng(p);

    const svg = readFileSync(join(out, 'metrics_vs_T.svg'), 'utf8');
    const points = runPoints(svg);
    expect(result.runs).to.have.length(12);
    expect(points.filter((p) => p.includes('metric: accuracy'))).to.have.length(12);
    expect(points.filter((p) => p.includes('metric: macro F1'))).to.have.length(12);
    expect(points).to.have.length(24);
    const curves = readFileSync(join(out, 'curves_val_accuracy.svg'), 'utf8');
    expect(curves.match(/<g class="mark-line role-mark[^"]*"/g)).to.have.length(12); // coloured by T, one line per run
    expect(curves).to.match(/role-legend-title[^>]*>.*?>T</s);
    expect(parseCsv(readFileSync(join(out, 'results.csv'), 'utf8'))).to.have.length(13);
    expect(parseCsv(readFileSync(join(out, 'history.csv'), 'utf8'))).to.have.length(1 + 12 * 3);
  });

  it('writes an alpha sweep, plotting only the axes that vary', async () => {
    const result = await runSweep({ grid: { T: [4], alpha: ALPHA_GRID }, seeds: [0, 1], run: async (c, s) => fakeRun(c, s) });
    const out = join(dir, 'alpha-sweep');
    const written = await writeSweepOutputs(result, out, { png: false, curves: ['val_macro_f1'] });
    expect(written.map((p) => p.slice(out.length + 1))).to.deep.equal([
      'results.json', 'results.csv', 'history.csv', 'metrics_vs_alpha.svg', 'curves_val_macro_f1.svg',
    ]);
    const points = runPoints(readFileSync(join(out, 'metrics_vs_alpha.svg'), 'utf8'));
    expect(points.filter((p) => p.includes('metric: accuracy'))).to.have.length(10);
  });

  it('rasterizes without any font', async () => {
    const svg = await plotComparisonBars([{ name: 'a', accuracy: 0.5 }], { title: 'no fonts' });
    const png = PNG.sync.read(Buffer.from(svgToPng(svg, { loadSystemFonts: false, fontFiles: [], scale: 0.5 })));
    expect(png.width).to.equal(Math.round(svgSize(svg).width / 2));
  });
});
