import type * as tf from '@tensorflow/tfjs-core';
import type { AdapterModel } from '@adapterkit/core';
import { getHeads } from '../heads/registry';

/** A trainable variable under a key that is stable across processes (checkpoints match on it). */
export interface TrainableParam {
  /** `base.<HF name>`, `adapter.<adapter>.<reference key>` or the head key `heads.<head>.<i>.<weight|bias>`. */
  readonly key: string;
  readonly variable: tf.Variable;
  /** Whether AdamW's weight decay applies (not to biases and LayerNorm weights, as the reference's trainer). */
  readonly decay: boolean;
}

const NORM_RE = /layernorm|layer_norm|(^|\.)ln(_[a-z0-9]+)?\.|adapter_norm_|(^|\.)norm\./i;
const FUSION_VALUE_RE = /adapter_fusion_layer\..*\.value/;

/**
 * Whether a parameter (by its reference key and aliases) gets weight decay: not biases, not LayerNorm parameters
 * (`LayerNorm`, GPT-2 `ln_*`, adapter `adapter_norm_*`), not fusion value matrices — the reference trainer's rule.
 */
export function decays(keys: readonly string[]): boolean {
  return !keys.some((k) => k.includes('bias') || NORM_RE.test(k) || FUSION_VALUE_RE.test(k));
}

/**
 * Every trainable variable of a model — base parameters, adapter parameters, head parameters — with a stable key
 * and its weight-decay flag, in a deterministic order.
 */
export function collectTrainable(model: AdapterModel): TrainableParam[] {
  const out: TrainableParam[] = [];
  for (const [name, v] of model.host.parameters) {
    if (v.trainable) out.push({ key: `base.${name}`, variable: v, decay: decays([name]) });
  }
  for (const adapter of model.adapterNames()) {
    for (const p of model.adapterParams(adapter)) {
      if (p.variable.trainable) out.push({ key: `adapter.${adapter}.${p.key}`, variable: p.variable, decay: decays([p.key, ...p.aliases]) });
    }
  }
  for (const id of model.paramGroupIds()) {
    for (const p of model.paramGroup(id)?.list() ?? []) {
      if (p.variable.trainable) out.push({ key: `group.${id}.${p.key}`, variable: p.variable, decay: decays([p.key]) });
    }
  }
  const heads = getHeads(model);
  for (const name of heads.names()) {
    const head = heads.require(name);
    for (const p of head.list()) {
      if (p.variable.trainable) out.push({ key: p.key, variable: p.variable, decay: !head.isNoDecay(p.key) });
    }
  }
  return out;
}
