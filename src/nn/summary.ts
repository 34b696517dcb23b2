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
import { observeCalls, type Module } from './module.js';

/** One row of a model summary. */
export interface LayerSummary {
  /** The layer's dotted module path ('' when the model itself is the layer). */
  name: string;
  /** The layer's class name, e.g. 'Conv2d'. */
  type: string;
  /** The layer's `describe()`, e.g. "Linear(784 → 10)". */
  description: string;
  /** Output shape for one sample (batch dimension left out). */
  outputShape: number[];
  /** Parameter elements of this layer. */
  params: number;
  /** Multiply-accumulates for one sample. */
  macs: number;
  /** This layer's share of the profiler's total_float_ops. */
  floatOps: number;
}

/** What `summary` returns: per-layer rows and totals for one sample. */
export interface ModelSummary {
  /** One sample's shape (no batch dimension). */
  inputShape: number[];
  /** One row per layer, in run (or call) order. */
  layers: LayerSummary[];
  /** Total parameter elements. */
  params: number;
  /** Parameter elements that are not frozen. */
  trainableParams: number;
  /** Total multiply-accumulates for one sample. */
  macs: number;
  /** total_float_ops of the TensorFlow profiler. */
  floatOps: number;
  /** total_float_ops // 2, the figure the Keras recipes print. */
  profilerFlops: number;
}

/** Modules that run a fixed list of layers in order can be summarised layer by layer. */
export interface LayerSequence {
  /** The layers in run order, with their dotted names. */
  sequence(): [string, Module][];
}

/**
 * A module's leaf layers in run order with dotted names under `prefix`: its `sequence()` if it has
 * one, a Sequential's children (recursively), else the module itself.
 */
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

/** Models that run a fixed list of layers (Sequential, or with a `sequence()`) are summarised by it. */
function hasSequence(m: Module): boolean {
  return m instanceof Sequential || typeof (m as unknown as Partial<LayerSequence>).sequence === 'function';
}

/**
 * Runs one zero sample of `inputShape` (no batch dimension) through the model: layer by layer
 * for sequential models; other models (residual blocks, …) are traced, one row per leaf layer
 * call in call order. Shapes only: no kernel runs (engine.shapeOnly), so large backbones at
 * 224×224 take milliseconds.
 */
export function summary(model: Module, inputShape: readonly number[]): ModelSummary {
  const layers: LayerSummary[] = [];
  const wasTraining = model.training;
  const row = (name: string, m: Module, inShape: readonly number[], outShape: number[]): LayerSummary => {
    const params = m.namedParameters().reduce((s, [, p]) => s + p.size, 0);
    return { name, type: m.constructor.name, description: m.describe(), outputShape: outShape, params, ...costOf(m, inShape, outShape) };
  };
  model.eval();
  try {
    noGrad(() =>
      tidy(() => {
        const x = zeros([1, ...inputShape]);
        x.engine.shapeOnly(() => {
          if (hasSequence(model)) {
            let h: Tensor = x;
            for (const [name, m] of layerSequence(model)) {
              const out = m.call(h);
              layers.push(row(name, m, h.shape.slice(1), out.shape.slice(1)));
              h = out;
            }
            return;
          }
          const names = new Map(model.namedModules().map(([n, m]) => [m, n] as const));
          observeCalls(
            (m, xin, y) => {
              if (m.namedChildren().length) return; // containers: their leaves have rows
              layers.push(row(names.get(m) ?? `(${m.constructor.name.toLowerCase()})`, m, xin.shape.slice(1), y.shape.slice(1)));
            },
            () => model.forward(x),
          );
        });
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
    trainableParams: model.trainableParameters().reduce((s, p) => s + p.size, 0),
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
