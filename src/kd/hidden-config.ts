/**
 * The hidden-representation term of `distill`, set up from the models themselves: both taps are
 * probed with one zero sample, and for 'mse' (FitNets) a regressor that maps the student's
 * representation onto the teacher's shape is chosen — none when the shapes match, a Linear for
 * flat representations, a 1×1 Conv2d for feature maps of the same height and width.
 */
import { zeros } from '../autograd/creation.js';
import { noGrad } from '../autograd/graph.js';
import { Random } from '../autograd/random.js';
import { tidy } from '../autograd/scope.js';
import { fmt } from '../autograd/shape.js';
import { Conv2d } from '../nn/conv-layers.js';
import { forwardWithHidden } from '../nn/hidden.js';
import { Linear } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import { asTeacher, type Teacher } from './teacher.js';
import type { HiddenLossConfig } from './workflows.js';

/** Options of `hiddenLossConfig`. */
export interface HiddenSetupOptions {
  /** 'cosine': 1 − cosine similarity (widths must divide); 'mse': through a regressor where needed. */
  kind: 'cosine' | 'mse';
  /** Weight of the hidden term in the total loss. */
  weight: number;
  /** The student's tap (see `nn.forwardWithHidden`). */
  studentTap: string;
  /** The teacher's tap (of its first member). */
  teacherTap: string;
  /** One sample's shape, without the batch. */
  inputShape: readonly number[];
  /** Seeds the regressor's initial weights. Default 0. */
  seed?: number;
}

/** What `hiddenLossConfig` returns. */
export interface HiddenSetup {
  /** Ready for `DistillConfig.hidden`. */
  config: HiddenLossConfig;
  /** The regressor, described (e.g. "linear 128 → 1200"), or null when none is needed. */
  regressor: string | null;
  /** Output shape (one sample) of the student's tap. */
  studentShape: number[];
  /** Output shape (one sample) of the teacher's tap. */
  teacherShape: number[];
}

/** Output shape (without the batch) of a tap, probed with one zero sample in eval mode. */
export function tapShape(model: Module, tap: string, inputShape: readonly number[]): number[] {
  const was = model.training;
  model.eval();
  try {
    return noGrad(() => tidy(() => forwardWithHidden(model, zeros([1, ...inputShape]), tap).hidden.shape.slice(1)));
  } finally {
    model.train(was);
  }
}

/** Checks the taps on the real models and builds the hidden term (see the file comment); errors say why the taps do not fit. */
export function hiddenLossConfig(student: Module, teacher: Module | Teacher, o: HiddenSetupOptions): HiddenSetup {
  const s = tapShape(student, o.studentTap, o.inputShape);
  const t = tapShape(asTeacher(teacher).members[0], o.teacherTap, o.inputShape);
  const config: HiddenLossConfig = { kind: o.kind, weight: o.weight, studentTap: o.studentTap, teacherTap: o.teacherTap };
  const done = (cfg: HiddenLossConfig, regressor: string | null): HiddenSetup => ({ config: cfg, regressor, studentShape: s, teacherShape: t });
  if (o.kind === 'cosine') {
    // cosineHiddenLoss average-pools the wider representation down to the narrower width.
    const [ws, wt] = [s, t].map((x) => x.reduce((p, d) => p * d, 1));
    if (Math.max(ws, wt) % Math.min(ws, wt) !== 0) {
      throw new Error(`kdgpu: hidden cosine: the student's tap ${o.studentTap} gives ${ws} values, the teacher's tap ${o.teacherTap} ${wt}; one must be a multiple of the other (or use mse)`);
    }
    return done(config, null);
  }
  if (s.join() === t.join()) return done(config, null);
  const rng = new Random(o.seed ?? 0);
  if (s.length === 1 && t.length === 1) return done({ ...config, regressor: new Linear(s[0], t[0], { rng }) }, `linear ${s[0]} → ${t[0]}`);
  if (s.length === 3 && t.length === 3 && s[1] === t[1] && s[2] === t[2]) {
    return done({ ...config, regressor: new Conv2d(s[0], t[0], 1, { rng }) }, `conv1x1 ${s[0]} → ${t[0]} channels`);
  }
  throw new Error(`kdgpu: hidden mse: the student's tap ${o.studentTap} gives ${fmt(s)}, the teacher's tap ${o.teacherTap} gives ${fmt(t)}; no linear or 1×1-conv regressor maps one onto the other (use cosine, or taps of the same kind)`);
}
