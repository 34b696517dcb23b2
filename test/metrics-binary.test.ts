/**
 * Two-class metrics of classificationMetrics — precision, recall and F1 of the positive class
 * (index 1) at the argmax decision, and ROC-AUC from the scores — against float64 computations
 * written here: decisions by comparing the two scores, F1 as the harmonic mean 2PR/(P+R), and
 * ROC-AUC by counting all positive/negative pairs (ties count one half) on the softmax
 * probability of class 1. The data has exact score ties, both within a row (an argmax tie
 * predicts class 0) and between rows of different labels.
 */
import { expect } from 'chai';
import { classificationMetrics } from '../src/nn/metrics.js';
import { randomValues } from './helpers.js';

interface Reference {
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  macroF1: number;
  rocAuc: number;
  confusion: number[][];
}

/** float64 reference from [n, 2] scores. */
function reference(scores: Float32Array, labels: number[]): Reference {
  const n = labels.length;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < n; i++) {
    const predictedPositive = scores[2 * i + 1] > scores[2 * i]; // ties go to class 0, the first maximum
    if (labels[i] === 1) predictedPositive ? tp++ : fn++;
    else predictedPositive ? fp++ : tn++;
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  // class 0's F1 with class 0 as the positive one
  const p0 = tn + fn > 0 ? tn / (tn + fn) : 0;
  const r0 = tn + fp > 0 ? tn / (tn + fp) : 0;
  const f10 = p0 + r0 > 0 ? (2 * p0 * r0) / (p0 + r0) : 0;
  // ROC-AUC: P(prob₊ > prob₋) + ½ P(prob₊ = prob₋) over all pairs, prob = softmax of class 1
  const prob = Array.from({ length: n }, (_, i) => 1 / (1 + Math.exp(scores[2 * i] - scores[2 * i + 1])));
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < n; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (prob[i] > prob[j]) wins += 1;
      else if (prob[i] === prob[j]) wins += 0.5;
    }
  }
  return {
    accuracy: (tp + tn) / n,
    precision,
    recall,
    f1,
    macroF1: (f1 + f10) / 2,
    rocAuc: pairs > 0 ? wins / pairs : NaN,
    confusion: [
      [tn, fp],
      [fn, tp],
    ],
  };
}

function check(scores: Float32Array, labels: number[]): void {
  const m = classificationMetrics(scores, labels, 2);
  const r = reference(scores, labels);
  expect(m.confusion).to.deep.equal(r.confusion);
  for (const k of ['accuracy', 'precision', 'recall', 'f1', 'macroF1', 'rocAuc'] as const) {
    const got = m[k];
    expect(got, k).to.be.a('number');
    if (Number.isNaN(r[k])) expect(got, k).to.be.NaN;
    else expect(Math.abs((got as number) - r[k]), `${k}: ${got} vs ${r[k]}`).to.be.at.most(1e-12);
  }
}

describe('binary classification metrics', () => {
  it('match a float64 reference on random scores with ties within and across rows', () => {
    const n = 41;
    const s = randomValues(2 * n, 7, -2, 2);
    const labels = Array.from(randomValues(n, 8, 0, 1), (v) => (v < 0.45 ? 1 : 0));
    const scores = Float32Array.from(s);
    // argmax ties (predicted 0) in a positive and a negative row
    scores[2 * 3 + 1] = scores[2 * 3];
    scores[2 * 4 + 1] = scores[2 * 4];
    labels[3] = 1;
    labels[4] = 0;
    // rows with the same scores but different labels (ROC ties)
    for (const [a, b] of [
      [10, 11],
      [12, 13],
      [14, 15],
    ]) {
      scores[2 * b] = scores[2 * a];
      scores[2 * b + 1] = scores[2 * a + 1];
      labels[a] = 1;
      labels[b] = 0;
    }
    // and a three-way tie block at a positive margin
    for (const i of [20, 21, 22]) {
      scores[2 * i] = -0.25;
      scores[2 * i + 1] = 0.5;
    }
    labels[20] = 1;
    labels[21] = 0;
    labels[22] = 1;
    const m = classificationMetrics(scores, labels, 2);
    const cm = m.confusion;
    // the data must exercise every cell, or the comparison below proves little
    expect(cm.flat().every((v) => v > 0), JSON.stringify(cm)).to.equal(true);
    check(scores, labels);
  });

  it('a hand-computed case: margins 0.1, 0.4, 0.35, 0.8 for labels 0, 0, 1, 1', () => {
    const scores = Float32Array.from([0, 0.1, 0, 0.4, 0, 0.35, 0, 0.8]);
    const m = classificationMetrics(scores, [0, 0, 1, 1], 2);
    // every margin is positive: all four predicted positive
    expect(m.precision).to.equal(0.5);
    expect(m.recall).to.equal(1);
    expect(m.f1).to.be.closeTo(2 / 3, 1e-15);
    expect(m.rocAuc).to.equal(0.75);
    expect(m.accuracy).to.equal(0.5);
  });

  it('scores that are probabilities give the same results as the logits they come from', () => {
    const n = 23;
    const logits = Float32Array.from(randomValues(2 * n, 21, -3, 3));
    const probs = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p1 = 1 / (1 + Math.exp(logits[2 * i] - logits[2 * i + 1]));
      probs[2 * i] = 1 - p1;
      probs[2 * i + 1] = p1;
    }
    const labels = Array.from(randomValues(n, 22, 0, 1), (v) => (v < 0.5 ? 1 : 0));
    check(probs, labels);
    const a = classificationMetrics(logits, labels, 2);
    const b = classificationMetrics(probs, labels, 2);
    expect(b.rocAuc).to.equal(a.rocAuc);
    expect(b.f1).to.equal(a.f1);
  });

  it('zero denominators give 0 (no predicted positives; no positive samples) and ROC-AUC NaN without positives', () => {
    const noPredicted = Float32Array.from([1, 0, 2, -1, 0.5, 0.5]);
    const m1 = classificationMetrics(noPredicted, [1, 0, 1], 2);
    expect([m1.precision, m1.recall, m1.f1]).to.deep.equal([0, 0, 0]);
    check(noPredicted, [1, 0, 1]);
    const noPositives = Float32Array.from([0, 1, 2, -1]);
    const m2 = classificationMetrics(noPositives, [0, 0], 2);
    expect(m2.precision).to.equal(0);
    expect(m2.recall).to.equal(0);
    expect(m2.rocAuc).to.be.NaN;
    check(noPositives, [0, 0]);
  });

  it('are absent for more than two classes, and a non-integer label is an error', () => {
    const m = classificationMetrics(Float32Array.from([1, 0, 0, 0, 1, 0]), [0, 1], 3);
    expect(m.precision).to.equal(undefined);
    expect(m.f1).to.equal(undefined);
    expect(m.rocAuc).to.equal(undefined);
    expect(() => classificationMetrics(Float32Array.from([1, 0]), [0.5], 2)).to.throw('kdgpu: metrics: label 0.5 at 0 is not an integer in [0, 2)');
  });
});
