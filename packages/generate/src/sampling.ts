import { AdapterConfigError, type Rng } from '@adapterkit/core';

/** How the next token is picked from a row of logits. */
export interface SamplingOptions {
  /** Sample (true) or take the arg-max (false, default: greedy decoding). */
  readonly doSample?: boolean;
  /** Divide logits by this before sampling (default 1; > 0). */
  readonly temperature?: number;
  /** Keep only the k most likely tokens (0 = off, default). */
  readonly topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = off, default). */
  readonly topP?: number;
  /**
   * transformers' repetition penalty (default 1 = off): the logit of every token already in the row (prompt or
   * generated) is divided by it when positive and multiplied by it when negative.
   */
  readonly repetitionPenalty?: number;
}

/** Validate sampling options before any work (a clear error naming the option). */
export function checkSampling(o: SamplingOptions): void {
  const bad = (what: string): never => {
    throw new AdapterConfigError('BAD_GENERATION_OPTION', what);
  };
  if (o.temperature !== undefined && !(o.temperature > 0 && Number.isFinite(o.temperature))) bad(`temperature must be a positive number, got ${o.temperature}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0)) bad(`topK must be a non-negative integer, got ${o.topK}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad(`topP must be in (0, 1], got ${o.topP}`);
  if (o.repetitionPenalty !== undefined && !(o.repetitionPenalty > 0 && Number.isFinite(o.repetitionPenalty))) {
    bad(`repetitionPenalty must be a positive number, got ${o.repetitionPenalty}`);
  }
}

/**
 * Pick the next token of one row (`logits` is modified in place): repetition penalty over `seen`, then greedy
 * arg-max, or temperature → top-k → top-p → a draw from `rng` (transformers' processor order).
 */
export function pickToken(logits: Float32Array, seen: Iterable<number>, o: SamplingOptions, rng: Rng): number {
  const penalty = o.repetitionPenalty ?? 1;
  if (penalty !== 1) {
    for (const t of new Set(seen)) {
      if (t < 0 || t >= logits.length) continue;
      const v = logits[t]!;
      logits[t] = v < 0 ? v * penalty : v / penalty;
    }
  }
  if (!o.doSample) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i]! > logits[best]!) best = i;
    return best;
  }
  const temperature = o.temperature ?? 1;
  const order = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]!);
  let keep = o.topK && o.topK > 0 ? Math.min(o.topK, order.length) : order.length;
  const max = logits[order[0]!]! / temperature;
  const probs = new Float64Array(keep);
  let sum = 0;
  for (let i = 0; i < keep; i++) {
    probs[i] = Math.exp(logits[order[i]!]! / temperature - max);
    sum += probs[i]!;
  }
  const topP = o.topP ?? 1;
  if (topP < 1) {
    let acc = 0;
    for (let i = 0; i < keep; i++) {
      acc += probs[i]! / sum;
      if (acc >= topP) {
        keep = i + 1;
        break;
      }
    }
    sum = 0;
    for (let i = 0; i < keep; i++) sum += probs[i]!;
  }
  let u = rng.next() * sum;
  for (let i = 0; i < keep; i++) {
    u -= probs[i]!;
    if (u <= 0) return order[i]!;
  }
  return order[keep - 1]!;
}
