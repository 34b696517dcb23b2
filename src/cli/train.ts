/**
 * `kdgpu train`: trains a built-in or spec model on a dataset, with a progress bar on stderr,
 * per-epoch checkpoints, resuming, and Ctrl-C handling (the current step finishes, a checkpoint
 * is written, the command prints how to resume and exits 130).
 *
 * JSON: { model, dataset, trainSize, valSize, testSize, epochs, batch, optimizer, lr, seed, init,
 *         history: [{ epoch, loss, seconds, imagesPerSecond, lr, val?: { loss, accuracy, macroF1 } }],
 *         stopReason ('epochs' | 'signal'), test: { count, loss, accuracy, macroF1,
 *         perClassAccuracy } | null, seconds, out (weights path or null), checkpoint (path or
 *         null), resumedFrom (path or null) }
 */
import { Command } from 'commander';
import { dropoutSeed } from '../autograd/ops-dropout.js';
import { GpuLoader, take } from '../data/dataset.js';
import type { InitScheme } from '../nn/init.js';
import type { Module } from '../nn/module.js';
import { Adam, AdamW, SGD, type Optimizer } from '../nn/optim.js';
import { saveWeights } from '../nn/node-weights.js';
import { ProgressBar } from '../nn/progress.js';
import { checkpointBytes, evaluate, fit, type EpochLog, type TrainCallbacks } from '../nn/train.js';
import { checkWritable, defaultCheckpointPath, readCheckpoint, resumeCommand, writeAtomic } from './checkpoint-files.js';
import { DATASET_NAMES, firstN, loadSplit, ownValidation, resolveDataset, type ImageDataOptions } from './datasets.js';
import { initGpu } from './gpu.js';
import { checkInputs, modelMetadata, resolveModel, type ModelSource } from './model-source.js';
import { choiceOption, imageFolderOptions, jsonOption, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './options.js';
import { CliError, Reporter } from './output.js';

export const INIT_SCHEMES = ['pytorch', 'keras', 'glorot_uniform', 'glorot_normal', 'xavier_uniform', 'xavier_normal', 'he_uniform', 'he_normal', 'lecun_uniform', 'lecun_normal'] as const;

interface TrainOptions extends ImageDataOptions {
  model?: string;
  modelSpec?: string;
  dataset: string;
  trainSize?: number;
  valSize: number;
  testSize?: number;
  epochs: number;
  batch: number;
  optimizer: 'adam' | 'adamw' | 'sgd';
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  seed: number;
  init: InitScheme;
  logEvery: number;
  out?: string;
  checkpoint?: string;
  resume?: string;
  progress: boolean;
  json?: boolean;
}

/** Datasets of a run: train, validation (the last --val-size training images) and test. */
function splitData(o: TrainOptions, src: ModelSource) {
  const ds = resolveDataset(o.dataset, o);
  const full = loadSplit(ds, 'train');
  checkInputs(src, full, ds.name);
  const trainSize = o.trainSize ?? full.count - o.valSize;
  if (trainSize < 1 || trainSize + o.valSize > full.count) {
    throw new CliError(`--train-size ${trainSize} plus --val-size ${o.valSize} is more than the ${full.count} images of ${ds.name}'s training set`);
  }
  const train = take(full, 0, trainSize);
  const val = o.valSize > 0 ? take(full, full.count - o.valSize, o.valSize) : ownValidation(ds);
  const test = o.testSize === 0 ? undefined : firstN(loadSplit(ds, 'test'), o.testSize, '--test-size', `${ds.name} test set`);
  return { name: ds.name, classes: ds.classNames.length, train, val, test };
}

function makeOptimizer(o: TrainOptions, model: Module): { opt: Optimizer; lr: number } {
  const lr = o.lr ?? (o.optimizer === 'sgd' ? 0.01 : 1e-3);
  const wd = o.weightDecay === undefined ? {} : { weightDecay: o.weightDecay }; // AdamW keeps its 0.01 default
  const params = model.trainableParameters();
  if (o.optimizer === 'sgd') return { opt: new SGD(params, { lr, momentum: o.momentum ?? 0, ...wd }), lr };
  return { opt: o.optimizer === 'adamw' ? new AdamW(params, { lr, ...wd }) : new Adam(params, { lr, ...wd }), lr };
}

const slimLog = (l: EpochLog) => ({
  epoch: l.epoch,
  loss: l.loss,
  seconds: l.seconds,
  imagesPerSecond: l.imagesPerSecond,
  lr: l.lr,
  ...(l.val ? { val: { loss: l.val.loss, accuracy: l.val.accuracy, macroF1: l.val.macroF1 } } : {}),
});

async function trainAction(o: TrainOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  // Everything that can be wrong with the request is checked before the GPU starts.
  const src = resolveModel(o);
  if (o.momentum !== undefined && o.optimizer !== 'sgd') throw new CliError(`--momentum applies to --optimizer sgd, not ${o.optimizer}`);
  checkWritable(o.out, '--out');
  checkWritable(o.checkpoint, '--checkpoint');
  const resume = o.resume === undefined ? undefined : readCheckpoint(o.resume);
  const data = splitData(o, src);
  out.note(`${src.name} on ${data.train.count} ${data.name} images${data.val ? ` (+${data.val.count} validation)` : ''}, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, batch ${o.batch}${resume ? `, resuming after epoch ${resume.epoch}` : ''}`);

  await initGpu(cmd);
  dropoutSeed(o.seed);
  const model = src.build({ seed: o.seed, init: o.init, classes: data.classes });
  const loader = new GpuLoader(data.train, { batchSize: o.batch, shuffle: true, seed: o.seed });
  const { opt, lr } = makeOptimizer(o, model);
  const bar = o.progress ? new ProgressBar({ epochs: o.epochs, batchSize: o.batch }) : null;
  const callbacks: TrainCallbacks[] = bar ? [bar] : [];

  // Ctrl-C: let the current step finish and write a checkpoint; a second Ctrl-C quits at once.
  const signal = { stopped: false };
  const onSigint = () => {
    if (signal.stopped) process.exit(130);
    signal.stopped = true;
    const msg = 'kdgpu: interrupted; finishing the current step and writing a checkpoint (Ctrl-C again to quit now)';
    if (bar) bar.note(msg);
    else out.note(msg);
  };
  process.on('SIGINT', onSigint);
  let result;
  try {
    result = await fit(model, loader, {
      optimizer: opt,
      epochs: o.epochs,
      validation: data.val,
      logEvery: o.logEvery,
      callbacks,
      signal,
      resumeFrom: resume?.bytes,
      checkpoint: o.checkpoint ? (bytes) => writeAtomic(o.checkpoint!, bytes) : undefined,
    });
  } catch (e) {
    bar?.stop();
    // restoreCheckpoint calls the file "checkpoint"; name it.
    if (o.resume && e instanceof Error && e.message.startsWith('kdgpu: checkpoint')) throw new CliError(e.message.replace(/^kdgpu: checkpoint/, o.resume));
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const history = result.history.map(slimLog);
  const base = { model: src.name, dataset: data.name, trainSize: data.train.count, valSize: data.val?.count ?? 0, testSize: data.test?.count ?? 0, epochs: o.epochs, batch: o.batch, optimizer: o.optimizer, lr, seed: o.seed, init: o.init };

  if (result.stopReason === 'signal') {
    const last = result.history.at(-1)?.epoch ?? resume?.epoch ?? 0;
    const ckpt = o.checkpoint ?? defaultCheckpointPath(o.out);
    if (!o.checkpoint) writeAtomic(ckpt, await checkpointBytes(model, opt, loader, last));
    out.result({ ...base, history, stopReason: result.stopReason, test: null, seconds: (performance.now() - t0) / 1000, out: null, checkpoint: ckpt, resumedFrom: o.resume ?? null });
    out.note(`kdgpu: stopped after epoch ${last}; checkpoint written to ${ckpt}. Resume with:\n  ${resumeCommand(process.argv.slice(2), ckpt)}`);
    process.exitCode = 130;
    return;
  }
  if (resume && resume.epoch >= o.epochs) out.note(`the checkpoint is already at epoch ${resume.epoch}; nothing left to train for --epochs ${o.epochs}`);

  const test = data.test ? await evaluate(model, data.test) : null;
  if (o.out) await saveWeights(model, o.out, modelMetadata(src));
  const seconds = (performance.now() - t0) / 1000;
  out.result({
    ...base,
    history,
    stopReason: result.stopReason,
    test: test && { count: test.count, loss: test.loss, accuracy: test.accuracy, macroF1: test.macroF1, perClassAccuracy: test.perClassAccuracy },
    seconds,
    out: o.out ?? null,
    checkpoint: o.checkpoint ?? null,
    resumedFrom: o.resume ?? null,
  });
  const lines = [`trained ${src.name} in ${seconds.toFixed(1)} s`];
  const lastVal = result.history.at(-1)?.val;
  if (lastVal) lines.push(`validation accuracy ${lastVal.accuracy.toFixed(4)} (${data.val!.count} images)`);
  if (test) lines.push(`test accuracy ${test.accuracy.toFixed(4)}, macro F1 ${test.macroF1.toFixed(4)}, loss ${test.loss.toFixed(4)} (${test.count} images)`);
  if (o.out) lines.push(`weights written to ${o.out}`);
  out.say(lines.join('\n'));
}

export default function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train a model on a dataset (Ctrl-C stops after the current step and writes a checkpoint)')
    .option('--model <name>', 'built-in model (see `kdgpu summary --help`)')
    .option('--model-spec <file>', 'a JSON model spec (see src/cli/model-spec.ts for the format)')
    .option('--dataset <name|path>', `${DATASET_NAMES.join(', ')}, a folder of IDX files or CIFAR-10 batches, or images:<annotations.csv> (an image folder)`, 'fashion-mnist')
    .option('--train-size <n>', 'train on the first n training images (default: all but --val-size)', positiveInt)
    .option('--val-size <n>', "validate after each epoch on the last n training images (default 0: an image folder's validation partition, if any)", nonNegativeInt, 0)
    .option('--test-size <n>', 'evaluate on the first n test images at the end (0: skip; default: all)', nonNegativeInt)
    .option('--epochs <n>', 'epochs to train (with --resume: the total, counting those already done)', positiveInt, 5)
    .option('--batch <n>', 'batch size', positiveInt, 64)
    .addOption(choiceOption('--optimizer <name>', 'optimizer', ['adam', 'adamw', 'sgd'], 'adam'))
    .option('--lr <x>', 'learning rate (default 0.001 for adam/adamw, 0.01 for sgd)', positiveNumber)
    .option('--momentum <x>', 'SGD momentum (default 0)', nonNegativeNumber)
    .option('--weight-decay <x>', 'weight decay (adam: L2; adamw: decoupled, default 0.01; sgd: L2)', nonNegativeNumber)
    .option('--seed <n>', 'seed of weights, shuffling and dropout', nonNegativeInt, 0)
    .addOption(choiceOption('--init <scheme>', 'weight initializer', INIT_SCHEMES, 'pytorch'))
    .option('--log-every <n>', 'steps between loss readbacks for the progress bar (0: epoch ends only)', nonNegativeInt, 10)
    .option('--out <file>', 'write the trained weights (safetensors, PyTorch names)')
    .option('--checkpoint <file>', 'write a checkpoint after every epoch')
    .option('--resume <file>', 'continue from a checkpoint (use the same model, data and batch options)')
    .option('--no-progress', 'no progress bar')
    .addOption(jsonOption())
    .action((opts: TrainOptions, c: Command) => trainAction(opts, c));
  for (const opt of imageFolderOptions()) cmd.addOption(opt);
  return cmd;
}
