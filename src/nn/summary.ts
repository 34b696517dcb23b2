/**
 * Model summary: per layer the output shape, parameter count, multiply-accumulates and FLOPs.
 * Parameter counts equal Keras's `model.summary()`. FLOPs follow the TensorFlow profiler used by
 * the Keras recipes: a matmul counts 2·m·n·k, a bias add one op per output, a k×k pool k² per
 * output, ReLU/dropout/flatten nothing; `profilerFlops` is that total halved (total_float_ops // 2).
 */
import { zeros } from '../autograd/creation.js';
import { noGrad } from '../autograd/graph.js';
import { tidy } from '../autograd/scope.js';
import type { Tensor } from '../autograd/tensor.js';
import { AvgPool2d, Conv2d, GlobalAvgPool2d, MaxPool2d } from './conv-layers.js';
import { Linear, Sequential } from './layers.js';
import type { Module } from './module.js';

export interface LayerSummary {
  name: string;
  type: string;
  description: string;
  /** Output shape for one sample (batch dimension left out). */
  outputShape: number[];
  params: number;
  macs: number;
  /** This layer's share of the profiler's total_float_ops. */
  floatOps: number;
}

export interface ModelSummary {
  inputShape: number[];
  layers: LayerSummary[];
  params: number;
  trainableParams: number;
  macs: number;
  /** total_float_ops of the TensorFlow profiler. */
  floatOps: number;
  /** total_float_ops // 2, the figure the Keras recipes print. */
  profilerFlops: number;
}

/** Modules that run a fixed list of layers in order can be summarised layer by layer. */
export interface LayerSequence {
  sequence(): [string, Module][];
}

export function layerSequence(m: Module, prefix = ''): [string, Module][] {
  const seq = (m as unknown as Partial<LayerSequence>).sequence;
  if (typeof seq === 'function') return seq.call(m).map(([n, c]) => [prefix ? `${prefix}.${n}` : n, c] as [string, Module]);
  if (m instanceof Sequential) {
    return m.namedChildren().flatMap(([n, c]) => layerSequence(c, prefix ? `${prefix}.${n}` : n));
  }
  return [[prefix, m]];
}

function costOf(m: Module, inShape: readonly number[], outShape: readonly number[]): { macs: number; floatOps: number } {
  const outCount = outShape.reduce((p, d) => p * d, 1);
  if (m instanceof Linear) {
    const rows = inShape.slice(0, -1).reduce((p, d) => p * d, 1);
    const macs = rows * m.inFeatures * m.outFeatures;
    return { macs, floatOps: 2 * macs + (m.bias ? rows * m.outFeatures : 0) };
  }
  if (m instanceof Conv2d) {
    // Each output reads the (in / groups) channels of its group.
    const macs = outCount * (m.inChannels / m.groups) * m.kernelSize[0] * m.kernelSize[1];
    return { macs, floatOps: 2 * macs + (m.bias ? outCount : 0) };
  }
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) return { macs: 0, floatOps: m.kernelArea * outCount };
  if (m instanceof GlobalAvgPool2d) return { macs: 0, floatOps: inShape.reduce((p, d) => p * d, 1) };
  return { macs: 0, floatOps: 0 };
}

/** Runs one zero sample of `inputShape` (no batch dimension) through the model's layers. */
export function summary(model: Module, inputShape: readonly number[]): ModelSummary {
  const layers: LayerSummary[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() =>
      tidy(() => {
        let h: Tensor = zeros([1, ...inputShape]);
        for (const [name, m] of layerSequence(model)) {
          const inShape = h.shape.slice(1);
          const out = m.call(h);
          const outShape = out.shape.slice(1);
          const params = m.namedParameters().reduce((s, [, p]) => s + p.size, 0);
          layers.push({ name, type: m.constructor.name, description: m.describe(), outputShape: outShape, params, ...costOf(m, inShape, outShape) });
          h = out;
        }
      }),
    );
  } finally {
    model.train(wasTraining);
  }
  const params = model.numParameters();
  const floatOps = layers.reduce((s, l) => s + l.floatOps, 0);
  return {
    inputShape: [...inputShape],
    layers,
    params,
    trainableParams: params,
    macs: layers.reduce((s, l) => s + l.macs, 0),
    floatOps,
    profilerFlops: Math.floor(floatOps / 2),
  };
}

const num = (n: number) => n.toLocaleString('en-US');

/** A Keras-style text table. */
export function formatSummary(s: ModelSummary, title = 'Model'): string {
  const rows = s.layers.map((l) => [l.name || l.type, l.description, `(None, ${l.outputShape.join(', ')})`, num(l.params), num(l.macs), num(Math.floor(l.floatOps / 2))]);
  const head = ['Layer', 'Type', 'Output shape', 'Params', 'MACs', 'FLOPs (profiler)'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const rule = '─'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  return [
    `${title}: input (None, ${s.inputShape.join(', ')})`,
    rule,
    line(head),
    rule,
    ...rows.map(line),
    rule,
    `Total params: ${num(s.params)}   Trainable params: ${num(s.trainableParams)}`,
    `MACs: ${num(s.macs)}   FLOPs (profiler, total_float_ops // 2): ${num(s.profilerFlops)}`,
  ].join('\n');
}
