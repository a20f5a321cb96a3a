import type * as tf from '@tensorflow/tfjs-core';
import type { BlockCompiler, BlockImplementations, CompiledStep, ForwardInfo, Handler } from '@adapterkit/core';
import type { InvertibleAdapter } from './extensions';

/** Per-forward state of a bottleneck adapter. */
export interface BottleneckForwardState {
  /** This adapter is the first bottleneck adapter of the active setup (it alone applies its invertible adapter). */
  readonly first: boolean;
}

/**
 * `beginForward` of a bottleneck adapter: it is "first" when it is the first adapter of the active setup
 * (`ForwardInfo.firstAdapter`, the reference's `active_setup.first()`), whatever method that first adapter
 * belongs to — so `Stack(lora_a, lang)` applies no invertible adapter, as in the reference.
 */
export function beginForwardFor(name: string): (info: ForwardInfo) => BottleneckForwardState {
  return (info) => ({ first: info.firstAdapter === undefined || info.firstAdapter === name });
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
