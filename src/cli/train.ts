/**
 * `kdgpu train`: trains a built-in or spec model on a dataset (nn.trainClassifier), with a progress
 * bar on stderr, per-epoch checkpoints, resuming, and Ctrl-C handling (training stops within a few
 * steps, a checkpoint of the step reached is written, the command prints how to resume and exits
 * 130). A diverging run (non-finite loss) stops with an error naming the step and writes nothing.
 *
 * JSON: { model, dataset, trainSize, valSize, testSize, epochs, batch, optimizer, lr, seed, init,
 *         history: [{ epoch, loss, seconds, imagesPerSecond, lr, val?: { loss, accuracy, macroF1 } }],
 *         stopReason ('epochs' | 'signal'), stoppedAt: { epoch (finished), step (into the next) } (after
 *         Ctrl-C only), test: { count, loss, accuracy, macroF1,
 *         perClassAccuracy } | null, seconds, out (weights path or null), checkpoint (path or
 *         null), resumedFrom (path or null) }
 */
import { Command, Option } from 'commander';
import { nn, ProgressBar, saveWeights, writeFileAtomic } from '../index.js';
import { defaultCheckpointPath, onInterrupt, placeOf, placeText, readCheckpoint, resumeCommand, testInterrupts } from './checkpoint-files.js';
import { initGpu } from './gpu.js';
import { resolveModel } from './model-source.js';
import { choiceOption, jsonOption, maxParamsOption, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from './options.js';
import { CliError, Reporter } from './output.js';
import { checkOutputFiles, datasetInput } from './outputs.js';
import { addDataOptions, dataFields, slimLog, splitData, type DataOptions } from './shared.js';

export const INIT_SCHEMES = ['pytorch', 'keras', 'glorot_uniform', 'glorot_normal', 'xavier_uniform', 'xavier_normal', 'he_uniform', 'he_normal', 'lecun_uniform', 'lecun_normal'] as const;

interface TrainOptions extends DataOptions {
  model?: string;
  modelSpec?: string;
  maxParams?: number;
  epochs: number;
  batch: number;
  optimizer: nn.OptimizerName;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  seed: number;
  init: nn.InitScheme;
  logEvery: number;
  out?: string;
  checkpoint?: string;
  resume?: string;
  progress: boolean;
  json?: boolean;
}

async function trainAction(o: TrainOptions, cmd: Command): Promise<void> {
  const out = new Reporter(Boolean(o.json));
  const t0 = performance.now();
  // Everything that can be wrong with the request is checked before the GPU starts.
  const src = resolveModel(o);
  if (o.momentum !== undefined && o.optimizer !== 'sgd') throw new CliError(`--momentum applies to --optimizer sgd, not ${o.optimizer}`);
  // --checkpoint may be the --resume file (it goes on being the run's checkpoint); --out may not.
  const specAndData = [{ path: o.modelSpec, option: '--model-spec' }, datasetInput(o.dataset)];
  checkOutputFiles([{ path: o.out, option: '--out' }], [{ path: o.resume, option: '--resume' }, ...specAndData]);
  checkOutputFiles([{ path: o.out, option: '--out' }, { path: o.checkpoint, option: '--checkpoint' }], specAndData);
  const resume = o.resume === undefined ? undefined : readCheckpoint(o.resume);
  const data = splitData(o, [src]);
  out.note(`${src.name} on ${data.train.count} ${data.name} images${data.val ? ` (+${data.val.count} validation)` : ''}, ${o.epochs} epoch${o.epochs === 1 ? '' : 's'}, batch ${o.batch}${resume ? `, resuming ${placeText(resume)}` : ''}`);

  // From here on Ctrl-C stops training (before its first step if it comes this early) with a checkpoint.
  const signal = { stopped: false };
  let bar: ProgressBar | null = null;
  const release = onInterrupt(signal, (msg) => (bar ? bar.note(msg) : out.note(msg)));
  let r: nn.TrainClassifierResult;
  let model: nn.Module;
  try {
    await initGpu(cmd);
    model = src.build({ seed: o.seed, init: o.init, classes: data.classes });
    bar = o.progress ? new ProgressBar({ epochs: o.epochs, batchSize: o.batch }) : null;
    r = await nn.trainClassifier(model, data.train, {
      epochs: o.epochs,
      batchSize: o.batch,
      optimizer: o.optimizer,
      lr: o.lr,
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      seed: o.seed,
      validation: data.val,
      test: data.test,
      logEvery: o.logEvery,
      callbacks: [...(bar ? [bar] : []), ...testInterrupts()],
      signal,
      onStop: 'checkpoint',
      resumeFrom: resume?.bytes,
      resumeName: o.resume,
      checkpoint: o.checkpoint ? (bytes) => writeFileAtomic(o.checkpoint!, bytes) : undefined,
    });
  } catch (e) {
    (bar as ProgressBar | null)?.stop();
    if (e instanceof nn.TrainingDivergedError) throw new CliError(e.message.replace(/^kdgpu: /, ''));
    throw e;
  } finally {
    release();
  }
  const history = r.history.map(slimLog);
  const base = { model: src.name, ...dataFields(data), epochs: o.epochs, batch: o.batch, optimizer: o.optimizer, lr: r.lr, seed: o.seed, init: o.init };
  const files = { checkpoint: o.checkpoint ?? null, resumedFrom: o.resume ?? null };

  if (r.stopReason === 'signal') {
    const place = placeOf(nn.parseSafetensors(r.checkpoint!, 'checkpoint').metadata)!;
    const ckpt = o.checkpoint ?? defaultCheckpointPath(o.out);
    if (!o.checkpoint) writeFileAtomic(ckpt, r.checkpoint!);
    out.result({ ...base, history, stopReason: r.stopReason, stoppedAt: place, test: null, seconds: (performance.now() - t0) / 1000, out: null, ...files, checkpoint: ckpt });
    out.note(`kdgpu: stopped ${placeText(place)}; checkpoint written to ${ckpt}. Resume with:\n  ${resumeCommand(process.argv.slice(2), ckpt)}`);
    process.exitCode = 130;
    return;
  }
  if (resume && resume.step === 0 && resume.epoch >= o.epochs) out.note(`the checkpoint is already at epoch ${resume.epoch}; nothing left to train for --epochs ${o.epochs}`);

  const test = r.test;
  if (o.out) await saveWeights(model, o.out, nn.modelMetadata(src));
  const seconds = (performance.now() - t0) / 1000;
  out.result({
    ...base,
    history,
    stopReason: r.stopReason,
    test: test ? { count: test.count, loss: test.loss, accuracy: test.accuracy, macroF1: test.macroF1, perClassAccuracy: test.perClassAccuracy } : null,
    seconds,
    out: o.out ?? null,
    ...files,
  });
  const lines = [`trained ${src.name} in ${seconds.toFixed(1)} s`];
  const lastVal = r.history.at(-1)?.val;
  if (lastVal) lines.push(`validation accuracy ${lastVal.accuracy.toFixed(4)} (${data.val!.count} images)`);
  if (test) lines.push(`test accuracy ${test.accuracy.toFixed(4)}, macro F1 ${test.macroF1.toFixed(4)}, loss ${test.loss.toFixed(4)} (${test.count} images)`);
  if (o.out) lines.push(`weights written to ${o.out}`);
  out.say(lines.join('\n'));
}

export default function trainCommand(): Command {
  const cmd = new Command('train')
    .description('train a model on a dataset (Ctrl-C stops within a few steps and writes a checkpoint)')
    .option('--model <name>', 'built-in model (see `kdgpu summary --help`)')
    .option('--model-spec <file>', 'a JSON model spec (see src/nn/model-spec.ts for the format)')
    .addOption(maxParamsOption());
  addDataOptions(cmd, new Option('--test-size <n>', 'evaluate on the first n test images at the end (0: skip; default: all)').argParser(nonNegativeInt));
  return cmd
    .option('--epochs <n>', 'epochs to train (with --resume: the total, counting those already done)', positiveInt, 5)
    .option('--batch <n>', 'batch size', positiveInt, 64)
    .addOption(choiceOption('--optimizer <name>', 'optimizer', nn.OPTIMIZER_NAMES, 'adam'))
    .option('--lr <x>', `learning rate (default ${nn.defaultLearningRate('adam')} for adam/adamw, ${nn.defaultLearningRate('sgd')} for sgd)`, positiveNumber)
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
}
