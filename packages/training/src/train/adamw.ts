import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError, type SerializableTensor, type TensorEntry } from '@adapterkit/core';
import type { TrainableParam } from './params';

/** Hyper-parameters of {@link AdamW} (PyTorch `torch.optim.AdamW` names; defaults of HF `TrainingArguments`). */
export interface AdamWOptions {
  /** Default 0.9. */
  readonly beta1?: number;
  /** Default 0.999. */
  readonly beta2?: number;
  /** Default 1e-8. */
  readonly epsilon?: number;
  /** Decoupled weight decay λ, applied only to params with `decay` (default 0, as HF `TrainingArguments`). */
  readonly weightDecay?: number;
}

interface Moments {
  readonly m: tf.Variable;
  readonly v: tf.Variable;
  step: number;
}

/**
 * AdamW with decoupled weight decay, step for step `torch.optim.AdamW`:
 * `p ← p·(1 − lr·λ)` (decaying params only), `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
 * `p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)`. A param without a gradient in a step is left alone (its
 * step count does not advance), as in PyTorch. Moments are non-trainable variables keyed by the param's stable key,
 * so they can be checkpointed and restored exactly.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  private readonly state = new Map<string, Moments>();

  constructor(options: AdamWOptions = {}) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  private moments(p: TrainableParam): Moments {
    let s = this.state.get(p.key);
    if (!s) {
      s = { m: tf.variable(tf.zerosLike(p.variable), false), v: tf.variable(tf.zerosLike(p.variable), false), step: 0 };
      this.state.set(p.key, s);
    }
    return s;
  }

  /** One update of every param that has a gradient in `grads` (same order as `params`; undefined = no gradient). */
  apply(params: readonly TrainableParam[], grads: ReadonlyArray<tf.Tensor | undefined>, lr: number): void {
    tf.tidy(() => {
      params.forEach((p, i) => {
        const g = grads[i];
        if (!g) return;
        const s = this.moments(p);
        s.step += 1;
        const bc1 = 1 - this.beta1 ** s.step;
        const bc2Sqrt = Math.sqrt(1 - this.beta2 ** s.step);
        let value: tf.Tensor = p.variable;
        if (p.decay && this.weightDecay !== 0) value = tf.mul(value, 1 - lr * this.weightDecay);
        const m = tf.add(tf.mul(s.m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(s.v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        s.m.assign(m);
        s.v.assign(v);
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), this.epsilon);
        p.variable.assign(tf.sub(value, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    });
  }

  /** Step counts per param key (for checkpoints). */
  stepCounts(): Record<string, number> {
    return Object.fromEntries([...this.state].map(([k, s]) => [k, s.step]));
  }

  /** Moments as tensors to save (`m.<key>`, `v.<key>`); data is copied. */
  async exportMoments(): Promise<Record<string, SerializableTensor>> {
    const out: Record<string, SerializableTensor> = {};
    for (const [k, s] of this.state) {
      out[`m.${k}`] = { shape: [...s.m.shape], data: (await s.m.data()) as Float32Array };
      out[`v.${k}`] = { shape: [...s.v.shape], data: (await s.v.data()) as Float32Array };
    }
    return out;
  }

  /** Restore moments and step counts saved by {@link exportMoments} / {@link stepCounts} for the given params. */
  restore(params: readonly TrainableParam[], steps: Record<string, number>, tensors: ReadonlyMap<string, TensorEntry>, source: string): void {
    for (const p of params) {
      const step = steps[p.key];
      if (step === undefined) continue;
      const m = tensors.get(`m.${p.key}`);
      const v = tensors.get(`v.${p.key}`);
      if (!m || !v || m.shape.join() !== p.variable.shape.join() || v.shape.join() !== p.variable.shape.join()) {
        throw new AdapterKitError('BAD_CHECKPOINT', `${source}: optimizer moments of '${p.key}' are missing or mis-shaped`);
      }
      tf.tidy(() => {
        const s = this.moments(p);
        s.m.assign(tf.tensor(m.data as Float32Array, m.shape));
        s.v.assign(tf.tensor(v.data as Float32Array, v.shape));
        s.step = step;
      });
    }
  }

  /** Free the moment variables. */
  dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
  }
}
