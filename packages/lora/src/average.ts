import * as tf from '@tensorflow/tfjs-core';
import { adapterConfigToJson, AdapterConfigError, CapabilityError, disposeEntry, type AdapterModel } from '@adapterkit/core';
import type { LoRAConfig } from './lora-config';

/**
 * How {@link averageLoRAAdapter} combines parameters (`adapters`' `combine_strategy`):
 * - `linear`: every parameter Φ = Σ λ_i Φ_i — A and B are averaged separately, so the update B·A of the result is
 *   not the average of the updates (that is what `adapters` does too);
 * - `lora_linear_only_negate_b`: A = Σ |λ_i| A_i, B = Σ λ_i B_i (negative weights negate only B, so "unlearning" an
 *   adapter flips its update's sign); LoRA (add mode) only.
 * `adapters`' `lora_delta_w_svd` (SVD of Σ λ_i B_i A_i) is not implemented: tfjs-core has no SVD.
 */
export type LoRACombineStrategy = 'linear' | 'lora_linear_only_negate_b';

/** Options of {@link averageLoRAAdapter}. */
export interface AverageLoRAOptions {
  /** Default `linear`. */
  readonly combineStrategy?: LoRACombineStrategy;
  /** Scale the weights to sum 1 (default true, as the reference). */
  readonly normalizeWeights?: boolean;
  /** Replace an existing adapter named `name`. */
  readonly overwriteOk?: boolean;
  /** Activate the new adapter. */
  readonly setActive?: boolean;
}

/** Config fields that may differ between averaged adapters (`adapters` ignores them in its config check). */
const IGNORED_FIELDS = ['dropout', 'init_weights_seed'];

/**
 * Parameter averaging of LoRA / (IA)³ adapters (`adapters`' `average_adapter`): adds adapter `name` with the common
 * config of `adapters` (they must agree, dropout aside) and parameters combined by `combineStrategy` with weights λ
 * (default equal; scaled to sum 1 with `normalizeWeights`, default true). Gate parameters are averaged linearly.
 */
export function averageLoRAAdapter(model: AdapterModel, name: string, adapters: readonly string[], weights?: readonly number[], options: AverageLoRAOptions = {}): void {
  if (adapters.length === 0) throw new AdapterConfigError('BAD_AVERAGE', 'averageLoRAAdapter needs at least one adapter');
  const entries = adapters.map((a) => model.requireAdapter(a));
  for (const e of entries) {
    const other = e.members.find((m) => m.method.name !== 'lora');
    if (other) throw new CapabilityError('UNSUPPORTED_AVERAGE', `averageLoRAAdapter (@adapterkit/lora) averages LoRA / (IA)³ adapters; '${e.name}' has a '${other.method.name}' part`);
  }
  const configKey = (i: number): string => {
    const { dict } = adapterConfigToJson(entries[i]!.members);
    return JSON.stringify(Object.fromEntries(Object.entries(dict).filter(([k]) => !IGNORED_FIELDS.includes(k))));
  };
  const differing = entries.findIndex((_, i) => configKey(i) !== configKey(0));
  if (differing >= 0) throw new AdapterConfigError('BAD_AVERAGE', `Cannot average adapters with different configs: '${adapters[differing]}' differs from '${adapters[0]}'`);
  const strategy = options.combineStrategy ?? 'linear';
  const config = entries[0]!.members[0]!.config as unknown as LoRAConfig;
  if (strategy === 'lora_linear_only_negate_b' && config.compositionMode !== 'add') {
    throw new AdapterConfigError('BAD_AVERAGE', `combineStrategy 'lora_linear_only_negate_b' needs LoRA adapters (composition_mode 'add'); '${adapters[0]}' is (IA)³`);
  }
  const raw = weights ? [...weights] : adapters.map(() => 1 / adapters.length);
  if (raw.length !== adapters.length) throw new AdapterConfigError('BAD_AVERAGE', `averageLoRAAdapter got ${raw.length} weights for ${adapters.length} adapters`);
  const sum = raw.reduce((a, b) => a + b, 0);
  const normalize = options.normalizeWeights ?? true;
  if (normalize && sum === 0) throw new AdapterConfigError('BAD_AVERAGE', 'averageLoRAAdapter cannot normalise weights that sum to 0 (pass normalizeWeights: false)');
  const lambda = normalize ? raw.map((w) => w / sum) : raw;

  const target = model.createEntry(name, entries[0]!.members.map(({ method, config: c }) => ({ method, config: c })));
  try {
    const rename = (key: string, from: string): string => key.split('.').map((s) => (s === from ? name : s)).join('.');
    const sources = entries.map((e) => new Map(e.params.list().map((p) => [rename(p.key, e.name), p.variable])));
    for (const p of target.params.list()) {
      const absolute = strategy === 'lora_linear_only_negate_b' && p.key.endsWith('.lora_A');
      const vars = sources.map((s, i) => {
        const v = s.get(p.key);
        if (!v) throw new AdapterConfigError('BAD_AVERAGE', `Adapter '${adapters[i]}' has no parameter matching '${p.key}'`);
        return v;
      });
      const value = tf.tidy(() => tf.addN(vars.map((v, i) => tf.mul(v, absolute ? Math.abs(lambda[i]!) : lambda[i]!))));
      p.variable.assign(value);
      value.dispose();
    }
  } catch (err) {
    disposeEntry(target);
    throw err;
  }
  model.registerEntry(target, { ...(options.overwriteOk ? { overwriteOk: true } : {}), ...(options.setActive ? { setActive: true } : {}) });
}
