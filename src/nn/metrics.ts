/** Classification metrics computed on the CPU from scores (logits or probabilities) and labels. */

/** What `classificationMetrics` (and `evaluate`) report. */
export interface ClassificationMetrics {
  /** Number of samples. */
  count: number;
  /** Fraction of samples whose argmax prediction equals the label (NaN for no samples). */
  accuracy: number;
  /** Accuracy within each true class (NaN for a class with no samples). */
  perClassAccuracy: number[];
  /** Mean over classes of F1 = 2PR/(P+R); a class never predicted nor present counts as 0. */
  macroF1: number;
  /** ROC-AUC of the positive class (index 1), for two classes only (from the scores, not the decisions). */
  rocAuc?: number;
  /**
   * Two classes only, for the positive class (index 1) at the argmax decision (a tie predicts
   * class 0): precision TP/(TP+FP), recall TP/(TP+FN) and F1 = 2TP/(2TP+FP+FN). A ratio with a
   * zero denominator is 0 (scikit-learn's zero_division default).
   */
  precision?: number;
  /** Two classes only: recall TP/(TP+FN) of class 1 (see `precision`). */
  recall?: number;
  /** Two classes only: F1 = 2TP/(2TP+FP+FN) of class 1 (see `precision`). */
  f1?: number;
  /** confusion[true][predicted] */
  confusion: number[][];
}

/** Per row of `scores` ([N, classes], row-major) the index of the largest score; ties go to the lower index. */
export function argmaxRows(scores: Float32Array, classes: number): Int32Array {
  const n = scores.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** ROC-AUC by the rank statistic (ties count one half), i.e. P(score₊ > score₋). */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let nPos = 0;
  let rankSum = 0;
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (positive[idx[k]]) {
      nPos++;
      rankSum += rank;
    }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/**
 * Accuracy, per-class accuracy, macro F1, the confusion matrix and, for two classes, precision,
 * recall, F1 and ROC-AUC, from `scores` ([N, classes], row-major) and integer labels.
 */
export function classificationMetrics(scores: Float32Array, labels: ArrayLike<number>, classes: number): ClassificationMetrics {
  const n = labels.length;
  if (scores.length !== n * classes) throw new Error(`kdgpu: metrics: ${scores.length} scores for ${n} labels × ${classes} classes`);
  const pred = argmaxRows(scores, classes);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = labels[i];
    if (!(Number.isInteger(t) && t >= 0 && t < classes)) throw new Error(`kdgpu: metrics: label ${t} at ${i} is not an integer in [0, ${classes})`);
    confusion[t][pred[i]]++;
    if (t === pred[i]) correct++;
  }
  const perClassAccuracy: number[] = [];
  let f1Sum = 0;
  for (let c = 0; c < classes; c++) {
    const tp = confusion[c][c];
    const actual = confusion[c].reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, row) => a + row[c], 0);
    perClassAccuracy.push(actual ? tp / actual : NaN);
    f1Sum += actual + predicted ? (2 * tp) / (actual + predicted) : 0;
  }
  const m: ClassificationMetrics = { count: n, accuracy: n ? correct / n : NaN, perClassAccuracy, macroF1: f1Sum / classes, confusion };
  if (classes === 2) {
    const tp = confusion[1][1];
    const fp = confusion[0][1];
    const fn = confusion[1][0];
    const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
    m.precision = ratio(tp, tp + fp);
    m.recall = ratio(tp, tp + fn);
    m.f1 = ratio(2 * tp, 2 * tp + fp + fn);
    const s = new Float64Array(n);
    // The positive class's score margin: monotone in its softmax probability.
    for (let i = 0; i < n; i++) s[i] = scores[i * 2 + 1] - scores[i * 2];
    m.rocAuc = rocAuc(s, Array.from(labels, (l) => l === 1));
  }
  return m;
}
