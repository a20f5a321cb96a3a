import type * as tf from '@tensorflow/tfjs-core';
import type { BlockCompiler, BlockImplementations, CompiledStep, ForwardInfo, Handler } from '@adapterkit/core';
import type { InvertibleAdapter } from './extensions';

/** Per-forward state of a bottleneck adapter. */
export interface BottleneckForwardState {
  /** This adapter is the first bottleneck adapter of the active setup (it alone applies its invertible adapter). */
  readonly first: boolean;
}

/**
 * The first bottleneck adapter of each running forward, keyed by that forward's `ForwardInfo` (one object per
 * forward, shared by every adapter's `beginForward`; weakly held so it goes with the forward).
 */
const firstOfForward = new WeakMap<ForwardInfo, string>();

/**
 * `beginForward` of a bottleneck adapter. The dispatcher calls `beginForward` of the active adapters in setup order
 * (depth-first, as the reference's `first()`), so the first adapter to register here is the setup's first
 * bottleneck adapter. Every bottleneck adapter registers, with or without an invertible adapter, so that
 * `Stack(a, lang)` applies none (as the reference, whose `first()` is `a`).
 */
export function beginForwardFor(name: string): (info: ForwardInfo) => BottleneckForwardState {
  return (info) => {
    const first = firstOfForward.get(info);
    if (first === undefined) firstOfForward.set(info, name);
    return { first: (first ?? name) === name };
  };
}

type ModelLevelPoint = 'embeddings.output' | 'head.input';

/**
 * Handler applying an invertible adapter (forward at `embeddings.output`, inverse at `head.input`) only when its
 * adapter is the first of the active setup, as the reference (`invertible_adapters_forward` uses
 * `active_setup.first()` only).
 */
export function invertibleHandler<P extends ModelLevelPoint>(inv: InvertibleAdapter, direction: 'forward' | 'inverse'): Handler<P, BottleneckForwardState> {
  const apply = (x: tf.Tensor3D): tf.Tensor3D => (direction === 'forward' ? inv.forward(x) : inv.inverse(x));
  return (x, next, ctx) => next(ctx.state?.first === false ? x : apply(x));
}

/** Runs every child's chain in order; each invertible handler gates itself, so at most one acts. */
function inOrder<P extends ModelLevelPoint>(): BlockCompiler<P> {
  return ({ children }) => {
    const steps = children.map((c) => c.step).filter((s): s is CompiledStep<P> => s !== null);
    return (payload, next) => {
      const run = (i: number, p: typeof payload): ReturnType<typeof next> => (i === steps.length ? next(p) : steps[i]!(p, (q) => run(i + 1, q)));
      return run(0, payload);
    };
  };
}

const modelLevel = { 'embeddings.output': inOrder<'embeddings.output'>(), 'head.input': inOrder<'head.input'>() };

/**
 * Block implementations at the model-level points, so setups such as `Fuse('lang_a', 'lang_b')` or
 * `Parallel('lang', 'b')` compile there: the invertible adapter of the setup's first adapter is applied once,
 * before (embeddings) and after (head) any block acts.
 */
export const INVERTIBLE_BLOCKS: BlockImplementations = {
  Fuse: modelLevel,
  Split: modelLevel,
  BatchSplit: modelLevel,
  Parallel: modelLevel,
  Average: modelLevel,
};
