import * as tf from '@tensorflow/tfjs-core';
import { adapterConfigToJson, AdapterConfigError, CapabilityError, disposeEntry, type AdapterModel } from '@adapterkit/core';

/** Options of {@link averageAdapter}. */
export interface AverageAdapterOptions {
  /** Scale the weights to sum 1 (default true, as the reference). */
  readonly normalizeWeights?: boolean;
  /** Replace an existing adapter named `name`. */
  readonly overwriteOk?: boolean;
  /** Activate the new adapter. */
  readonly setActive?: boolean;
}

/** Config fields that may differ between averaged adapters (`adapters` ignores them in its config check). */
const IGNORED_FIELDS = ['dropout', 'init_weights_seed'];

function configKey(model: AdapterModel, name: string): string {
  const { dict } = adapterConfigToJson(model.requireAdapter(name).members);
  const rest = Object.fromEntries(Object.entries(dict).filter(([k]) => !IGNORED_FIELDS.includes(k)));
  return JSON.stringify(rest);
}

/**
 * Parameter averaging of bottleneck adapters (`adapters`' `average_adapter` with `combine_strategy="linear"`):
 * adds adapter `name` with the common config of `adapters` and every parameter Φ = Σ λ_i Φ_i — adapter modules,
 * invertible adapters and PHM parameters alike. `weights` default to equal; with `normalizeWeights` (default) they
 * are scaled to sum 1 (negative weights "unlearn"). All adapters must have the same config (dropout aside).
 */
export function averageAdapter(model: AdapterModel, name: string, adapters: readonly string[], weights?: readonly number[], options: AverageAdapterOptions = {}): void {
  if (adapters.length === 0) throw new AdapterConfigError('BAD_AVERAGE', 'averageAdapter needs at least one adapter');
  const entries = adapters.map((a) => model.requireAdapter(a));
  for (const e of entries) {
    const other = e.members.find((m) => m.method.name !== 'bottleneck');
    if (other) throw new CapabilityError('UNSUPPORTED_AVERAGE', `averageAdapter (@adapterkit/bottleneck) averages bottleneck adapters; '${e.name}' has a '${other.method.name}' part`);
  }
  const key = configKey(model, adapters[0]!);
  const differing = adapters.find((a) => configKey(model, a) !== key);
  if (differing) throw new AdapterConfigError('BAD_AVERAGE', `Cannot average adapters with different configs: '${differing}' differs from '${adapters[0]}'`);
  const raw = weights ? [...weights] : adapters.map(() => 1 / adapters.length);
  if (raw.length !== adapters.length) throw new AdapterConfigError('BAD_AVERAGE', `averageAdapter got ${raw.length} weights for ${adapters.length} adapters`);
  const sum = raw.reduce((a, b) => a + b, 0);
  if ((options.normalizeWeights ?? true) && sum === 0) throw new AdapterConfigError('BAD_AVERAGE', 'averageAdapter cannot normalise weights that sum to 0 (pass normalizeWeights: false)');
  const lambda = options.normalizeWeights ?? true ? raw.map((w) => w / sum) : raw;

  const target = model.createEntry(name, entries[0]!.members.map(({ method, config }) => ({ method, config })));
  try {
    const rename = (key: string, from: string): string => key.split('.').map((s) => (s === from ? name : s)).join('.');
    const sources = entries.map((e) => new Map(e.params.list().map((p) => [rename(p.key, e.name), p.variable])));
    for (const p of target.params.list()) {
      const vars = sources.map((s, i) => {
        const v = s.get(p.key);
        if (!v) throw new AdapterConfigError('BAD_AVERAGE', `Adapter '${adapters[i]}' has no parameter matching '${p.key}'`);
        return v;
      });
      const value = tf.tidy(() => tf.addN(vars.map((v, i) => tf.mul(v, lambda[i]!))));
      p.variable.assign(value);
      value.dispose();
    }
  } catch (err) {
    disposeEntry(target);
    throw err;
  }
  model.registerEntry(target, { ...(options.overwriteOk ? { overwriteOk: true } : {}), ...(options.setActive ? { setActive: true } : {}) });
}
