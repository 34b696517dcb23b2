/**
 * `kdgpu eval`: a trained model's accuracy on a test set, per class, macro F1 and the confusion
 * matrix. The model comes from --model / --model-spec, or from the weights' metadata when they
 * were written by `kdgpu train`; an ONNX file (--weights model.onnx) is its own model.
 *
 * JSON: { model, weights, dataset, count, classes, classNames, loss (mean cross-entropy),
 *         nonFiniteWeights (NaN/infinite values in the weights: they warn, --strict refuses them),
 *         accuracy, macroF1, perClassAccuracy (null for a class with no samples),
 *         confusion (confusion[true][predicted], counts), rocAuc (two classes only), seconds }
 */
import { Command } from 'commander';
import { nn } from '../index.js';
import { firstN, loadSplit, resolveDataset, type ImageDataOptions } from './datasets.js';
import { initGpu } from './gpu.js';
import { resolveModelFile } from './model-source.js';
import { imageFolderOptions, jsonOption, onnxInputOptions, positiveInt, type OnnxInputFlags } from './options.js';
import { CliError, Reporter } from './output.js';
import { DATASET_HELP } from './shared.js';

interface EvalOptions extends ImageDataOptions, OnnxInputFlags {
  model?: string;
  modelSpec?: string;
  weights: string;
  dataset: string;
  testSize?: number;
  batch: number;
  strict?: boolean;
  json?: boolean;
}

/** The confusion matrix as text: rows are true classes, columns predicted ones. */
export function formatConfusion(confusion: number[][], names: string[]): string {
  const w = Math.max(3, ...confusion.flat().map((v) => String(v).length));
  const label = (i: number) => `${i} ${names[i] ?? ''}`.trimEnd();
  const lw = Math.max('true \\ predicted'.length, ...confusion.map((_, i) => label(i).length));
  const head = `${'true \\ predicted'.padEnd(lw)} ${confusion.map((_, j) => String(j).padStart(w)).join(' ')}`;
  return [head, ...confusion.map((row, i) => `${label(i).padEnd(lw)} ${row.map((v) => String(v).padStart(w)).join(' ')}`)].join('\n');
}

async function evalAction(o: EvalOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  const { src, weights } = resolveModelFile(o.weights, o);
  const ds = resolveDataset(o.dataset, o);
  const test = firstN(loadSplit(ds, 'test'), o.testSize, '--test-size', `${ds.name} test set`);
  nn.checkInputs(src, test, ds.name);
  // Weights with NaN or ±Infinity (a diverged run's) evaluate to chance: say so, or refuse with --strict.
  const bad = weights ? nn.nonFiniteWeights(weights) : null;
  if (bad) {
    const msg = `${o.weights}: ${nn.describeNonFinite(bad)}; were these weights saved from a diverged run?`;
    if (o.strict) throw new CliError(`${msg} (refused: --strict)`);
    out.note(`kdgpu: warning: ${msg} The results below are those of a broken model.`);
  }
  await initGpu(cmd);
  const model = src.build({ classes: ds.classNames.length });
  if (weights) nn.loadInto(model, src, weights, { nonFinite: 'allow' });
  const m = await nn.evaluate(model, test, { batchSize: o.batch });
  const classes = m.perClassAccuracy.length;
  const names = ds.classNames.length === classes ? ds.classNames : Array.from({ length: classes }, (_, i) => String(i));
  out.result({
    model: src.name,
    weights: o.weights,
    dataset: ds.name,
    count: m.count,
    classes,
    classNames: names,
    nonFiniteWeights: bad ? bad.values : 0,
    loss: m.loss,
    accuracy: m.accuracy,
    macroF1: m.macroF1,
    perClassAccuracy: m.perClassAccuracy,
    confusion: m.confusion,
    ...(m.rocAuc === undefined ? {} : { rocAuc: m.rocAuc }),
    seconds: (performance.now() - t0) / 1000,
  });
  const nw = Math.max(...names.map((n) => n.length));
  out.say(
    [
      `${src.name} on ${m.count} ${ds.name} test images`,
      `accuracy ${m.accuracy.toFixed(4)}   macro F1 ${m.macroF1.toFixed(4)}   loss ${m.loss.toFixed(4)}${m.rocAuc === undefined ? '' : `   ROC-AUC ${m.rocAuc.toFixed(4)}`}`,
      'per-class accuracy',
      ...m.perClassAccuracy.map((a, i) => `  ${String(i).padStart(2)} ${names[i].padEnd(nw)}  ${Number.isNaN(a) ? '—' : a.toFixed(4)}`),
      'confusion matrix',
      formatConfusion(m.confusion, names),
    ].join('\n'),
  );
}

export default function evalCommand(): Command {
  const cmd = new Command('eval')
    .description('evaluate trained weights on a test set: accuracy, per-class accuracy, macro F1, confusion matrix')
    .requiredOption('--weights <file>', 'weights (safetensors, e.g. from `kdgpu train --out`; Keras .h5), or an ONNX model (.onnx: its own architecture)')
    .option('--model <name>', 'built-in model (default: the one named in the weights file)')
    .option('--model-spec <file>', 'a JSON model spec (default: the one stored in the weights file)')
    .option('--dataset <name|path>', DATASET_HELP, 'fashion-mnist')
    .option('--test-size <n>', 'evaluate on the first n test images (default: all)', positiveInt)
    .option('--batch <n>', 'images per forward pass', positiveInt, 500)
    .addOption(jsonOption())
    .action((opts: EvalOptions, c: Command) => evalAction(opts, c));
  for (const opt of [...imageFolderOptions(), ...onnxInputOptions()]) cmd.addOption(opt);
  return cmd;
}
