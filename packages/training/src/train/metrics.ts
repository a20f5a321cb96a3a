/** Metric names the trainer computes on evaluation data. */
export type MetricName = 'loss' | 'accuracy' | 'f1' | 'mcc' | 'perplexity';

/** Fraction of `preds[i] === labels[i]`. */
export function accuracy(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (labels.length === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (preds[i] === labels[i]) ok++;
  return ok / labels.length;
}

/**
 * Macro-averaged F1 (scikit-learn `f1_score(average='macro')`): the mean over every class present in labels or
 * predictions of `2·TP / (2·TP + FP + FN)`.
 */
export function macroF1(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  const classes = new Set<number>();
  for (let i = 0; i < labels.length; i++) {
    classes.add(labels[i]!);
    classes.add(preds[i]!);
  }
  if (classes.size === 0) return NaN;
  let sum = 0;
  for (const c of classes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < labels.length; i++) {
      const p = preds[i] === c;
      const l = labels[i] === c;
      if (p && l) tp++;
      else if (p) fp++;
      else if (l) fn++;
    }
    sum += tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / classes.size;
}

/**
 * Matthews correlation coefficient, multi-class form (scikit-learn `matthews_corrcoef`):
 * `(c·s − Σₖ pₖtₖ) / √((s² − Σₖ pₖ²)(s² − Σₖ tₖ²))` with c correct, s samples, pₖ/tₖ predicted/true counts; 0 when
 * the denominator is 0.
 */
export function matthewsCorrelation(preds: ArrayLike<number>, labels: ArrayLike<number>): number {
  const p = new Map<number, number>();
  const t = new Map<number, number>();
  let c = 0;
  const s = labels.length;
  for (let i = 0; i < s; i++) {
    p.set(preds[i]!, (p.get(preds[i]!) ?? 0) + 1);
    t.set(labels[i]!, (t.get(labels[i]!) ?? 0) + 1);
    if (preds[i] === labels[i]) c++;
  }
  let pt = 0;
  for (const [k, n] of p) pt += n * (t.get(k) ?? 0);
  const sq = (m: Map<number, number>): number => [...m.values()].reduce((a, n) => a + n * n, 0);
  const denom = Math.sqrt((s * s - sq(p)) * (s * s - sq(t)));
  return denom === 0 ? 0 : (c * s - pt) / denom;
}

/** Perplexity from a mean token cross-entropy (natural log): `exp(loss)`. */
export function perplexity(meanLoss: number): number {
  return Math.exp(meanLoss);
}

/** Whether larger is better for a metric (`loss` and `perplexity` are minimised). */
export function higherIsBetter(metric: string): boolean {
  return metric !== 'loss' && metric !== 'perplexity';
}
