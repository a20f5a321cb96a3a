import * as tf from '@tensorflow/tfjs-core';
import type { InvertibleAdapter } from '@adapterkit/bottleneck';
import type { Subnet } from './subnet';

/** How a coupling block splits the hidden features: `x = [x1 | x2]` with `first = H // 2`, `second = H − first`. */
export interface CouplingSplit {
  readonly first: number;
  readonly second: number;
}

/** The reference's split of `hidden` features (`split_len1 = H // 2`, `split_len2 = H − H // 2`). */
export function couplingSplit(hidden: number): CouplingSplit {
  const first = Math.floor(hidden / 2);
  return { first, second: hidden - first };
}

/** `[B, S, first + second]` → `[x1 [B, S, first], x2 [B, S, second]]`. */
function halves(x: tf.Tensor3D, split: CouplingSplit): [tf.Tensor3D, tf.Tensor3D] {
  return tf.split(x, [split.first, split.second], 2) as [tf.Tensor3D, tf.Tensor3D];
}

function join(a: tf.Tensor, b: tf.Tensor): tf.Tensor3D {
  return tf.concat([a, b], 2) as tf.Tensor3D;
}

/**
 * NICE additive coupling (Dinh et al. 2015; the reference's `NICECouplingBlock`), on `[batch, seq, hidden]`:
 * forward `y1 = x1 + F(x2)`, `y2 = x2 + G(y1)`; inverse `x2 = y2 − G(y1)`, `x1 = y1 − F(x2)`. Volume-preserving.
 * `F: second → first`, `G: first → second` (features of the split halves).
 */
export function niceCoupling(split: CouplingSplit, F: Subnet, G: Subnet): InvertibleAdapter {
  return {
    forward(x) {
      const [x1, x2] = halves(x, split);
      const y1 = tf.add(x1, F(x2));
      return join(y1, tf.add(x2, G(y1)));
    },
    inverse(y) {
      const [y1, y2] = halves(y, split);
      const x2 = tf.sub(y2, G(y1));
      return join(tf.sub(y1, F(x2)), x2);
    },
  };
}

/** Soft clamp of GLOW's log-scales: `s ↦ clamp · 0.636 · atan(s / clamp)`, in (−clamp, clamp). */
export const GLOW_CLAMP = 5;

function logScale(s: tf.Tensor, clamp: number): tf.Tensor {
  return tf.mul(tf.atan(tf.div(s, clamp)), clamp * 0.636);
}

/** `r [.., 2·n]` → `(s [.., n], t [.., n])`, split along the feature axis. */
function scaleShift(r: tf.Tensor, n: number): [tf.Tensor, tf.Tensor] {
  return tf.split(r, [n, n], r.rank - 1) as [tf.Tensor, tf.Tensor];
}

/**
 * GLOW / RealNVP affine coupling (Kingma & Dhariwal 2018; Dinh et al. 2017) on `[batch, seq, hidden]`, with
 * `e(s) = exp(clamp · 0.636 · atan(s / clamp))`:
 * forward `(s2, t2) = s2net(x2)`, `y1 = x1 ⊙ e(s2) + t2`; `(s1, t1) = s1net(y1)`, `y2 = x2 ⊙ e(s1) + t1`;
 * inverse `x2 = (y2 − t1) / e(s1)` with `(s1, t1) = s1net(y1)`, then `x1 = (y1 − t2) / e(s2)` with
 * `(s2, t2) = s2net(x2)`. `s1net: first → 2·second`, `s2net: second → 2·first`; each output is split into
 * (s, t) along the feature axis.
 *
 * This is the coupling the reference's `GLOWCouplingBlock` was copied from (FrEIA), not what adapter-transformers
 * 3.2.1 runs: that version splits the subnet outputs along axis 1 (the sequence axis for `[B, S, H]`) and cannot
 * run on 3-D hidden states (see the README).
 */
export function glowCoupling(split: CouplingSplit, s1net: Subnet, s2net: Subnet, clamp = GLOW_CLAMP): InvertibleAdapter {
  const { first, second } = split;
  return {
    forward(x) {
      const [x1, x2] = halves(x, split);
      const [s2, t2] = scaleShift(s2net(x2), first);
      const y1 = tf.add(tf.mul(x1, tf.exp(logScale(s2, clamp))), t2);
      const [s1, t1] = scaleShift(s1net(y1), second);
      return join(y1, tf.add(tf.mul(x2, tf.exp(logScale(s1, clamp))), t1));
    },
    inverse(y) {
      const [y1, y2] = halves(y, split);
      const [s1, t1] = scaleShift(s1net(y1), second);
      const x2 = tf.mul(tf.sub(y2, t1), tf.exp(tf.neg(logScale(s1, clamp))));
      const [s2, t2] = scaleShift(s2net(x2), first);
      return join(tf.mul(tf.sub(y1, t2), tf.exp(tf.neg(logScale(s2, clamp)))), x2);
    },
  };
}
