import * as tf from '@tensorflow/tfjs-core';

/**
 * A seeded random source for parameter initialisation (mulberry32 + Box–Muller), so adapters initialise
 * identically under the same seed on every backend.
 */
export class Rng {
  private state: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal sample. */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** A fresh independent seed derived from this stream. */
  fork(): Rng {
    return new Rng(Math.floor(this.next() * 4294967296));
  }
  /** Serialisable state (for checkpoints). */
  getState(): number {
    return this.state;
  }
  setState(state: number): void {
    this.state = state >>> 0;
    this.spare = undefined;
  }
}

function fill(shape: number[], f: () => number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = f();
  return out;
}

/** Initialisers; each returns a new float32 tensor of `shape`. */
export const init = {
  zeros: (shape: number[]): tf.Tensor => tf.zeros(shape),
  ones: (shape: number[]): tf.Tensor => tf.ones(shape),
  /** N(mean, std²). */
  normal: (rng: Rng, shape: number[], std: number, mean = 0): tf.Tensor =>
    tf.tensor(fill(shape, () => mean + std * rng.normal()), shape),
  /** U(lo, hi). */
  uniform: (rng: Rng, shape: number[], lo: number, hi: number): tf.Tensor =>
    tf.tensor(fill(shape, () => lo + (hi - lo) * rng.next()), shape),
  /** PyTorch `kaiming_uniform_(a=√5)` on a Linear weight: U(±1/√fanIn). */
  kaimingUniform: (rng: Rng, shape: number[], fanIn: number): tf.Tensor => {
    const bound = 1 / Math.sqrt(fanIn);
    return tf.tensor(fill(shape, () => -bound + 2 * bound * rng.next()), shape);
  },
  /** PyTorch `xavier_normal_`: N(0, 2/(fanIn+fanOut)). */
  xavierNormal: (rng: Rng, shape: number[], fanIn: number, fanOut: number): tf.Tensor => {
    const std = Math.sqrt(2 / (fanIn + fanOut));
    return tf.tensor(fill(shape, () => std * rng.normal()), shape);
  },
  /** Identity-like matrix with `offDiagonal` elsewhere (fusion value init). */
  eyeWith: (n: number, offDiagonal: number): tf.Tensor => {
    const data = new Float32Array(n * n).fill(offDiagonal);
    for (let i = 0; i < n; i++) data[i * n + i] = 1;
    return tf.tensor(data, [n, n]);
  },
};
