import * as tf from '@tensorflow/tfjs-core';
import type { Handler, LayerNormFn, SublayerPayload } from '@adapterkit/core';
import type { BottleneckConfig } from './config';
import type { BottleneckLocation } from './extensions';
import type { BottleneckForward } from './module';

/** The two hook points where bottleneck modules sit. */
export type SublayerPoint = 'attention.output' | 'ffn.output';

/** The reference's bottleneck locations: their hook point (= module site) and the config flag enabling them. */
export const LOCATIONS = [
  { location: 'mh_adapter', site: 'attention.output', enabled: (c: BottleneckConfig) => c.mhAdapter },
  { location: 'output_adapter', site: 'ffn.output', enabled: (c: BottleneckConfig) => c.outputAdapter },
] as const satisfies ReadonlyArray<{ location: BottleneckLocation; site: SublayerPoint; enabled: (c: BottleneckConfig) => boolean }>;

/** The location key of a sub-layer point. */
export function locationOf(point: SublayerPoint): BottleneckLocation {
  return point === 'attention.output' ? 'mh_adapter' : 'output_adapter';
}

/** One bottleneck module (one adapter, one location, one layer): its config and its forward. */
export interface BottleneckModule {
  readonly config: BottleneckConfig;
  readonly forward: BottleneckForward;
}

/**
 * The sub-layer tensors as the host passed them to the first handler of the chain: the sub-layer output h₀, the
 * residual x and the frozen LayerNorm. Later adapters of a Stack receive a payload whose `hidden` is the previous
 * adapter's output and whose `residual`/`layerNorm` may encode a post-step; they read x, LN and h₀ from here.
 * A Parallel block replaces it by its batch-replicated version.
 */
export interface SublayerOrigin {
  readonly hidden: tf.Tensor3D;
  readonly residual: tf.Tensor3D;
  readonly layerNorm?: LayerNormFn;
}

/** Origin of every payload a bottleneck step passes on (payload objects live for one call; weakly held). */
const origins = new WeakMap<SublayerPayload, SublayerOrigin>();

/** The origin of a payload: recorded by an earlier bottleneck step, else the payload itself (the host's call). */
export function originOf(payload: SublayerPayload): SublayerOrigin {
  return origins.get(payload) ?? payload;
}

/** What `pre_forward` gives: the adapter input h′, the fusion query q and the adapter residual r. */
export interface PreForward {
  readonly input: tf.Tensor3D;
  readonly query: tf.Tensor3D;
  readonly residual: tf.Tensor3D;
}

/**
 * pre_forward of the reference (`Adapter.pre_forward` / `ParallelAdapter.pre_forward`): the adapter input h′, the
 * adapter residual r and the fusion query from the current hidden `h`, the sub-layer residual `x` and the frozen
 * LN (absent on pre-LN hosts, where `original_ln_before` means h + x without a norm). The query is `h` when
 * `queryBeforeLn` (AdapterFusion's `query_before_ln`), else h′; a parallel adapter reads `x` for all three.
 */
export function preForward(c: BottleneckConfig, h: tf.Tensor3D, x: tf.Tensor3D, ln: LayerNormFn | undefined, queryBeforeLn = false): PreForward {
  if (c.isParallel) return { input: x, query: x, residual: x };
  let input = h;
  let residual = h;
  if (c.originalLnBefore) {
    const sum = tf.add(h, x) as tf.Tensor3D;
    if (c.residualBeforeLn === 'post_add') residual = sum;
    input = ln ? (ln(sum) as tf.Tensor3D) : sum;
  }
  if (c.residualBeforeLn === false) residual = input;
  return { input, query: queryBeforeLn ? h : input, residual };
}

/**
 * post_forward of the reference, expressed as the payload handed to `next`, so that the chain's terminal
 * (`addAndNorm`) performs it: sequential → LN(o + x) or o (`original_ln_after` false); parallel → o + h₀, then
 * LN(· + x). A later adapter of a Stack overrides this payload with its own, so only the last adapter's
 * post-step takes effect, as in the reference's `adapter_stack` + `last.post_forward`. The payload's origin is
 * recorded for the steps after it.
 */
export function postPayload(c: BottleneckConfig, o: tf.Tensor3D, origin: SublayerOrigin): SublayerPayload {
  let out: SublayerPayload;
  if (!c.isParallel) out = { hidden: o, residual: origin.residual, layerNorm: origin.layerNorm, skipAddNorm: !c.originalLnAfter };
  else if (c.originalLnAfter) {
    out = { hidden: o, residual: tf.add(origin.hidden, origin.residual) as tf.Tensor3D, layerNorm: origin.layerNorm, skipAddNorm: false };
  } else out = { hidden: o, residual: origin.hidden, layerNorm: undefined, skipAddNorm: false };
  origins.set(out, origin);
  return out;
}

/**
 * The handler of one bottleneck module at `attention.output` / `ffn.output`: pre_forward, the adapter block, and
 * the post-step as the payload of `next`. In a Stack each adapter applies pre + forward to the previous adapter's
 * output (with the sub-layer's original residual and LN), and the last one's post-step is what the terminal does.
 */
export function sublayerHandler<P extends SublayerPoint>(module: BottleneckModule): Handler<P> {
  return (payload, next, ctx) => {
    const origin = originOf(payload);
    const { input, residual } = preForward(module.config, payload.hidden, origin.residual, origin.layerNorm);
    return next(postPayload(module.config, module.forward(input, residual, ctx.forward.rng).output, origin));
  };
}
