/**
 * `kdgpu summary MODEL`: layers, output shapes, parameters, MACs and FLOPs, of a built-in model, a
 * JSON spec (--model-spec) or an ONNX file.
 *
 * JSON: { model, inputShape, params, trainableParams, macs,
 *         flops (the TensorFlow profiler's figure that the Keras recipes print, total_float_ops // 2),
 *         floatOps (total_float_ops),
 *         layers: [{ name, type, description, outputShape (one sample), params, macs, flops (this
 *         layer's share of total_float_ops, halved like the table) }] }
 */
import { Command } from 'commander';
import { isOnnxFile, nn } from '../index.js';
import { initGpu } from './gpu.js';
import { resolveModel, resolveModelFile } from './model-source.js';
import { jsonOption } from './options.js';
import { CliError, Reporter } from './output.js';

export default function summaryCommand(): Command {
  return new Command('summary')
    .description('print a model\'s layers, output shapes, parameters, MACs and FLOPs')
    .argument('[model]', `built-in model (${Object.keys(nn.MODELS).join(', ')}) or an ONNX file (model.onnx)`)
    .option('--model-spec <file>', 'a JSON model spec instead of a built-in model')
    .addOption(jsonOption())
    .action(async (model: string | undefined, opts: { modelSpec?: string; json?: boolean }, cmd: Command) => {
      const out = new Reporter(Boolean(opts.json));
      if (model === undefined && opts.modelSpec === undefined) throw new CliError(`give a model (${Object.keys(nn.MODELS).join(', ')}) or --model-spec FILE`);
      const src = model !== undefined && isOnnxFile(model) ? resolveModelFile(model, { modelSpec: opts.modelSpec }).src : resolveModel({ model, modelSpec: opts.modelSpec });
      await initGpu(cmd);
      const m = src.build({ seed: 0 });
      const s = nn.summary(m, src.inputShape);
      out.result({
        model: src.name,
        inputShape: s.inputShape,
        params: s.params,
        trainableParams: s.trainableParams,
        macs: s.macs,
        flops: s.profilerFlops,
        floatOps: s.floatOps,
        layers: s.layers.map((l) => ({ name: l.name, type: l.type, description: l.description, outputShape: l.outputShape, params: l.params, macs: l.macs, flops: Math.floor(l.floatOps / 2) })),
      });
      out.say(nn.formatSummary(s, src.name));
    });
}
