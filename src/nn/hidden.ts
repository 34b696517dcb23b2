/**
 * Reading a hidden representation without rewriting the model: the logits plus the output of one
 * named layer ("tap"). Taps are Sequential layer indices ("5" = the output of layer 5, as in the
 * state_dict numbering), `features` / `flatten` / `classifier.N` for FeaturesClassifier, or a key
 * of a model that already returns named outputs.
 */
import { flatten } from '../autograd/ops-shape.js';
import type { Tensor } from '../autograd/tensor.js';
import { Sequential } from './layers.js';
import { FeaturesClassifier } from './models.js';
import type { Module } from './module.js';

/** What `forwardWithHidden` returns. */
export interface HiddenOutput {
  /** The model's output. */
  logits: Tensor;
  /** The tapped layer's output. */
  hidden: Tensor;
}

/** Runs `model` on `x`, returning its logits and the output of the layer named by `tap` (see the file header). */
export function forwardWithHidden(model: Module, x: Tensor, tap: string): HiddenOutput {
  if (model instanceof Sequential) {
    const i = Number(tap);
    if (!/^\d+$/.test(tap) || i >= model.layers.length) {
      throw new Error(`kdgpu: forwardWithHidden: tap '${tap}' is not a layer of this Sequential; use an index 0…${model.layers.length - 1} (${describeLayers(model)})`);
    }
    const r = model.forwardCapture(x, [i]);
    return { logits: r.output, hidden: r.taps[0] };
  }
  if (model instanceof FeaturesClassifier) {
    if (tap === 'features' || tap === 'flatten') {
      const f = model.features.call(x);
      const flat = flatten(f, 1);
      return { logits: model.classifier.call(flat), hidden: tap === 'features' ? f : flat };
    }
    const m = /^classifier\.(\d+)$/.exec(tap);
    if (m) {
      const r = model.classifier.forwardCapture(flatten(model.features.call(x), 1), [Number(m[1])]);
      return { logits: r.output, hidden: r.taps[0] };
    }
    throw new Error(`kdgpu: forwardWithHidden: tap '${tap}' is not one of 'features', 'flatten', 'classifier.N' (N < ${model.classifier.layers.length})`);
  }
  const out = model.forward(x);
  if (typeof (out as Tensor).dispose === 'function') {
    throw new Error(`kdgpu: forwardWithHidden: ${model.constructor.name} returns a single tensor; taps work on Sequential, FeaturesClassifier, or models returning named outputs`);
  }
  const named = out as Record<string, Tensor>;
  if (!named.logits || !named[tap]) {
    throw new Error(`kdgpu: forwardWithHidden: ${model.constructor.name} returned ${Object.keys(named).join(', ')}; expected 'logits' and '${tap}'`);
  }
  return { logits: named.logits, hidden: named[tap] };
}

function describeLayers(s: Sequential): string {
  return s.layers.map((l, i) => `${i}: ${l.describe()}`).join(', ');
}
