import * as tf from '@tensorflow/tfjs-core';
import type { Handler, LayerNormFn, SublayerPayload } from '@adapterkit/core';
import type { BottleneckConfig } from './config';
import type { BottleneckForward } from './module';

/**
 * The sub-layer tensors as the host passed them to the first handler of the chain: the sub-layer output h₀, the
 * residual x and the frozen LayerNorm. Later adapters of a Stack receive a payload whose `hidden` is the previous
 * adapter's output and whose `residual`/`layerNorm` may encode a post-step; they read x, LN and h₀ from here.
 */
interface SublayerOrigin {
  readonly hidden: tf.Tensor3D;
  readonly residual: tf.Tensor3D;
  readonly layerNorm?: LayerNormFn;
}

/** Origin of every payload a bottleneck handler passes on (payload objects live for one call; weakly held). */
const origins = new WeakMap<SublayerPayload, SublayerOrigin>();

/**
 * pre_forward of the reference (`Adapter.pre_forward` / `ParallelAdapter.pre_forward`): the adapter input h′ and
 * the adapter residual r from the current hidden `h`, the sub-layer residual `x` and the frozen LN (absent on
 * pre-LN hosts, where `original_ln_before` means h + x without a norm).
 */
function preForward(c: BottleneckConfig, h: tf.Tensor3D, x: tf.Tensor3D, ln: LayerNormFn | undefined): { input: tf.Tensor3D; residual: tf.Tensor3D } {
  if (c.isParallel) return { input: x, residual: x };
  let input = h;
  let residual = h;
  if (c.originalLnBefore) {
    const sum = tf.add(h, x) as tf.Tensor3D;
    if (c.residualBeforeLn === 'post_add') residual = sum;
    input = ln ? (ln(sum) as tf.Tensor3D) : sum;
  }
  if (c.residualBeforeLn === false) residual = input;
  return { input, residual };
}

/**
 * post_forward of the reference, expressed as the payload handed to `next`, so that the chain's terminal
 * (`addAndNorm`) performs it: sequential → LN(o + x) or o (`original_ln_after` false); parallel → o + h₀, then
 * LN(· + x). A later adapter of a Stack overrides this payload with its own, so only the last adapter's
 * post-step takes effect, as in the reference's `adapter_stack` + `last.post_forward`.
 */
function postPayload(c: BottleneckConfig, o: tf.Tensor3D, origin: SublayerOrigin): SublayerPayload {
  if (!c.isParallel) return { hidden: o, residual: origin.residual, layerNorm: origin.layerNorm, skipAddNorm: !c.originalLnAfter };
  if (c.originalLnAfter) {
    return { hidden: o, residual: tf.add(origin.hidden, origin.residual) as tf.Tensor3D, layerNorm: origin.layerNorm, skipAddNorm: false };
  }
  return { hidden: o, residual: origin.hidden, layerNorm: undefined, skipAddNorm: false };
}

/**
 * The handler of one bottleneck module at `attention.output` / `ffn.output`: pre_forward, the adapter block, and
 * the post-step as the payload of `next`. In a Stack each adapter applies pre + forward to the previous adapter's
 * output (with the sub-layer's original residual and LN), and the last one's post-step is what the terminal does.
 */
export function sublayerHandler(config: BottleneckConfig, block: BottleneckForward): Handler<'attention.output' | 'ffn.output'> {
  return (payload, next, ctx) => {
    const origin = origins.get(payload) ?? payload;
    const { input, residual } = preForward(config, payload.hidden, origin.residual, origin.layerNorm);
    const o = block(input, residual, ctx.forward.training);
    const out = postPayload(config, o, origin);
    origins.set(out, origin);
    return next(out);
  };
}
