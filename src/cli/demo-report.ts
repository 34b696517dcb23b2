/** What `kdgpu demo` writes and prints: the plots (from kd), results.json and the comparison table. */
import { join } from 'node:path';
import { plotComparisonBars, plotTransferCurves, svgToPng, writeFileAtomic, type TransferRecipeResult, type TransferStudentReport } from '../index.js';
import { pct, slimLog } from './shared.js';

/** What the report needs besides the recipe's result. */
export interface DemoRun {
  mode: 'default' | 'quick' | 'full';
  out: string;
  teacher: { weights: string; model: string; trained: boolean; trainingSeconds: number | null; trainingImagesPerSecond: number | null };
  /** Weights file of each student. */
  studentWeights: Record<'scratch' | 'kd', string>;
  /** Files written so far (weights); the report adds its own. */
  files: string[];
  t0: number;
}

export const int = (v: number) => Math.round(v).toLocaleString('en-US');
const rate = (v: number | null) => (v === null || !Number.isFinite(v) ? '—' : int(v));

/** Writes an SVG and its PNG into the run's folder. */
function writePlot(run: DemoRun, name: string, svg: string): void {
  for (const [file, data] of [
    [`${name}.svg`, svg],
    [`${name}.png`, svgToPng(svg, { scale: 2 })],
  ] as const) {
    const p = join(run.out, file);
    writeFileAtomic(p, data);
    run.files.push(p);
  }
}

/** curves.svg/.png (both students per epoch, when there are curves) and accuracy.svg/.png (bars). */
export async function writeDemoPlots(run: DemoRun, r: TransferRecipeResult): Promise<void> {
  const c = r.config;
  if (r.curves.scratch.length > 0) {
    writePlot(run, 'curves', await plotTransferCurves(r.curves, { title: `Fashion-MNIST, ${int(c.trainCount)} labelled images: test accuracy (first ${int(c.curveCount)} test images)` }));
  }
  const bars = [
    { name: 'teacher', accuracy: r.teacher.accuracy },
    { name: 'scratch student', accuracy: r.scratch.test.accuracy },
    { name: 'distilled student', accuracy: r.kd.test.accuracy },
  ];
  writePlot(run, 'accuracy', await plotComparisonBars(bars, { title: `Test accuracy on ${int(c.testCount)} Fashion-MNIST images (teacher: ${run.teacher.model})` }));
}

/** The JSON document (see demo.ts), written as results.json. */
export function writeDemoResults(run: DemoRun, r: TransferRecipeResult) {
  const student = (s: TransferStudentReport, role: 'scratch' | 'kd') => ({
    accuracy: s.test.accuracy,
    macroF1: s.test.macroF1,
    params: s.params,
    flops: s.flops,
    imagesPerSecond: s.imagesPerSecond,
    inferenceImagesPerSecond: s.inferenceImagesPerSecond,
    seconds: s.seconds,
    weights: run.studentWeights[role],
    history: s.history.map(slimLog),
  });
  const resultsPath = join(run.out, 'results.json');
  run.files.push(resultsPath);
  const t = run.teacher;
  const doc = {
    mode: run.mode,
    dataset: 'fashion-mnist',
    recipe: r.config,
    teacher: {
      weights: t.weights,
      model: t.model,
      trained: t.trained,
      accuracy: r.teacher.accuracy,
      macroF1: r.teacher.macroF1,
      params: r.teacher.params,
      flops: r.teacher.flops,
      inferenceImagesPerSecond: r.teacher.inferenceImagesPerSecond,
      trainingSeconds: t.trainingSeconds,
      trainingImagesPerSecond: t.trainingImagesPerSecond,
    },
    scratch: student(r.scratch, 'scratch'),
    kd: student(r.kd, 'kd'),
    gainPoints: r.gainPoints,
    curves: r.curves,
    files: run.files,
    seconds: (performance.now() - run.t0) / 1000,
  };
  writeFileAtomic(resultsPath, `${JSON.stringify(doc, null, 2)}\n`);
  return doc;
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  return rows.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ')).join('\n');
}

/** The text summary: the comparison table and the gain. */
export function demoSummary(run: DemoRun, r: TransferRecipeResult, seconds: number): string {
  const c = r.config;
  const row = (label: string, s: TransferStudentReport) => [`${label} (${c.student})`, pct(s.test.accuracy), int(s.params), int(s.flops), rate(s.imagesPerSecond), rate(s.inferenceImagesPerSecond)];
  const rows = [
    ['', 'test accuracy', 'parameters', 'FLOPs', 'train img/s', 'inference img/s'],
    [`teacher (${run.teacher.model})`, pct(r.teacher.accuracy), int(r.teacher.params), int(r.teacher.flops), rate(run.teacher.trainingImagesPerSecond), rate(r.teacher.inferenceImagesPerSecond)],
    row('scratch student', r.scratch),
    row('distilled student', r.kd),
  ];
  const gain = r.gainPoints;
  return [
    '',
    `Fashion-MNIST test set (${int(c.testCount)} images); students trained on ${int(c.trainCount)} labelled images for ${c.epochs} epochs`,
    table(rows),
    '',
    `KD − scratch: ${gain >= 0 ? '+' : ''}${gain.toFixed(2)} points (${pct(r.kd.test.accuracy)} vs ${pct(r.scratch.test.accuracy)}), ` +
      `with ${(r.teacher.params / r.kd.params).toFixed(1)}× fewer parameters than the teacher`,
    `FLOPs: the TensorFlow profiler's count for one image (kdgpu summary). Wrote ${run.files.length} files to ${run.out} (curves.png, accuracy.png, results.json, weights)`,
    `in ${seconds.toFixed(0)} s`,
  ].join('\n');
}
