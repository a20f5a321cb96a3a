import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, dropout as dropoutOp, CapabilityError, type Handler, type KeyValuePayload } from '@adapterkit/core';
import { applyGate, type PrefixGate } from './gate';

/** Per-forward state of a prefix-tuning adapter: the prefix pool as slabs `[2·L, heads, P, headDim]` (see `toSlabs`). */
export interface PrefixForwardState {
  readonly slabs: tf.Tensor4D;
}

/**
 * `attention.kv` payload of hosts that also pass the attention input (needed by gating only). Hosts that do not
 * set `input` cannot run gated prefix tuning.
 */
interface KeyValuePayloadWithInput extends KeyValuePayload {
  /** Attention input `[batch, seq, hidden]` (BERT: the layer input; GPT-2: `ln_1(x)`). */
  readonly input?: tf.Tensor3D;
}

/**
 * The `attention.kv` handler of one prefixed layer with rank `prefixId` among the prefixed layers. It takes the
 * layer's key slab `2·prefixId` and value slab `2·prefixId + 1` `[heads, P, headDim]`, tiles them over the batch of
 * the payload's keys, applies dropout (training) and the gate (if any), and returns
 * `key = [P_K ; K]`, `value = [P_V ; V]` (`[batch, heads, P + keyLen, headDim]`) and the mask with P zeros (always
 * attended) in front: `[batch, 1, 1, P + keyLen]`. Stacked prefix adapters therefore give `[P_b ; P_a ; K]`.
 */
export function prefixKeyValueHandler(prefixId: number, dropout: number, gate: PrefixGate | undefined): Handler<'attention.kv', PrefixForwardState> {
  return (payload, next, ctx) => {
    const state = ctx.state;
    if (!state) {
      throw new AdapterStateError(
        'NO_FORWARD_STATE',
        `prefix_tuning adapter '${ctx.adapter}' ran at attention.kv (layer ${ctx.layer}) without its per-forward prefix pool; run the model through AdapterModel.forward`,
      );
    }
    const [, heads, P, headDim] = state.slabs.shape;
    const batch = payload.key.shape[0];
    const pair = tf.slice(state.slabs, [2 * prefixId, 0, 0, 0], [2, heads, P, headDim]);
    let [prefixKey, prefixValue] = tf.split(pair, 2, 0).map((t) => tf.tile(t, [batch, 1, 1, 1])) as [tf.Tensor4D, tf.Tensor4D];
    const rng = ctx.forward.rng;
    if (rng && dropout > 0) {
      prefixKey = dropoutOp(prefixKey, dropout, rng);
      prefixValue = dropoutOp(prefixValue, dropout, rng);
    }
    if (gate) {
      const input = (payload as KeyValuePayloadWithInput).input;
      if (!input) {
        throw new CapabilityError(
          'GATING_NEEDS_ATTENTION_INPUT',
          `prefix_tuning adapter '${ctx.adapter}' has use_gating=True, which needs the attention input at 'attention.kv' (layer ${ctx.layer}); ` +
            'gated prefix tuning is not supported by this host (its KeyValuePayload has no `input`)',
        );
      }
      [prefixKey, prefixValue] = applyGate(gate, input, prefixKey, prefixValue);
    }
    const [mb, m1, m2] = payload.mask.shape;
    return next({
      ...payload,
      key: tf.concat([prefixKey, payload.key], 2),
      value: tf.concat([prefixValue, payload.value], 2),
      mask: tf.concat([tf.zeros([mb, m1, m2, P]), payload.mask], 3),
    });
  };
}
