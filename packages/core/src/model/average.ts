import * as tf from '@tensorflow/tfjs-core';
import { adapterConfigToJson } from '../config/adapter-config-json';
import { AdapterConfigError, CapabilityError } from '../errors';
import { disposeEntry, type AdapterModel, type AddAdapterOptions } from './adapter-model';

/**
 * Combines the values of one parameter across the averaged adapters into the new adapter's value. Called inside
 * `tf.tidy`, once per parameter key (the new adapter's key), with the source tensors in the order of the adapters
 * and the (normalised) weights λ.
 */
export type CombineParams = (key: string, tensors: readonly tf.Tensor[], weights: readonly number[]) => tf.Tensor;

/** `Σ λ_i t_i`: the reference's `linear` combine strategy and the default {@link CombineParams}. */
export function weightedSum(tensors: readonly tf.Tensor[], weights: readonly number[]): tf.Tensor {
  return tf.tidy(() => tf.addN(tensors.map((t, i) => tf.mul(t, weights[i]!))));
}

/** Options of {@link averageAdapterParams}. */
export interface AverageAdapterParamsOptions extends Pick<AddAdapterOptions, 'overwriteOk' | 'setActive'> {
  /** Scale the weights to sum 1 (default true, as the reference). */
  readonly normalizeWeights?: boolean;
  /** How each parameter is combined (default {@link weightedSum}). */
  readonly combine?: CombineParams;
  /** Method names the caller can average: an adapter with a part of another method fails with a CapabilityError. */
  readonly methods?: readonly string[];
  /** Name of the calling function, used in error messages (default `averageAdapterParams`). */
  readonly caller?: string;
  /** Fields of the new adapter's config that differ from the sources' (e.g. a new rank after an SVD merge). */
  readonly configOverrides?: Readonly<Record<string, unknown>>;
}

/** Config fields that may differ between averaged adapters (`adapters` ignores them in its config check). */
const IGNORED_FIELDS = ['dropout', 'init_weights_seed'];

function configKey(model: AdapterModel, name: string): string {
  const { dict } = adapterConfigToJson(model.requireAdapter(name).members);
  return JSON.stringify(Object.fromEntries(Object.entries(dict).filter(([k]) => !IGNORED_FIELDS.includes(k))));
}

/**
 * Parameter averaging (`adapters`' `average_adapter`): adds adapter `newName` with the common config of `names` and
 * every parameter combined from the same parameter of each source adapter — matched by key with the adapter-name
 * segment replaced (`…adapters.a.adapter_up.weight` ↔ `…adapters.avg.adapter_up.weight`) — by `options.combine`
 * (default Σ λ_i Φ_i). `weights` λ default to equal; with `normalizeWeights` (default) they are scaled to sum 1
 * (negative weights "unlearn"). The sources must have the same config (dropout and `init_weights_seed` aside). Nothing
 * is added when any check fails.
 *
 * @throws AdapterConfigError `BAD_AVERAGE` (no adapters, differing configs, wrong number of weights, weights summing to 0
 *   under normalisation, a parameter without a match); CapabilityError `UNSUPPORTED_AVERAGE` (a method outside
 *   `options.methods`); AdapterStateError when `newName` exists without `overwriteOk`.
 */
export function averageAdapterParams(
  model: AdapterModel,
  newName: string,
  names: readonly string[],
  weights: readonly number[] | undefined,
  options: AverageAdapterParamsOptions = {},
): void {
  const caller = options.caller ?? 'averageAdapterParams';
  if (names.length === 0) throw new AdapterConfigError('BAD_AVERAGE', `${caller} needs at least one adapter`);
  const entries = names.map((a) => model.requireAdapter(a));
  if (options.methods) {
    for (const e of entries) {
      const other = e.members.find((m) => !options.methods!.includes(m.method.name));
      if (other) throw new CapabilityError('UNSUPPORTED_AVERAGE', `${caller} averages ${options.methods.join(' / ')} adapters; '${e.name}' has a '${other.method.name}' part`);
    }
  }
  const key = configKey(model, names[0]!);
  const differing = names.find((a) => configKey(model, a) !== key);
  if (differing !== undefined) throw new AdapterConfigError('BAD_AVERAGE', `Cannot average adapters with different configs: '${differing}' differs from '${names[0]}'`);
  const raw = weights ? [...weights] : names.map(() => 1 / names.length);
  if (raw.length !== names.length) throw new AdapterConfigError('BAD_AVERAGE', `${caller} got ${raw.length} weights for ${names.length} adapters`);
  const normalize = options.normalizeWeights ?? true;
  const sum = raw.reduce((a, b) => a + b, 0);
  if (normalize && sum === 0) throw new AdapterConfigError('BAD_AVERAGE', `${caller} cannot normalise weights that sum to 0 (pass normalizeWeights: false)`);
  const lambda = normalize ? raw.map((w) => w / sum) : raw;
  const combine = options.combine ?? ((_key: string, tensors: readonly tf.Tensor[], w: readonly number[]) => weightedSum(tensors, w));

  const overrides = options.configOverrides;
  const target = model.createEntry(
    newName,
    entries[0]!.members.map(({ method, config }) => ({ method, config: overrides ? { ...config, ...overrides } : config })),
  );
  try {
    const rename = (k: string, from: string): string => k.split('.').map((s) => (s === from ? newName : s)).join('.');
    const sources = entries.map((e) => new Map(e.params.list().map((p) => [rename(p.key, e.name), p.variable])));
    for (const p of target.params.list()) {
      const vars = sources.map((s, i) => {
        const v = s.get(p.key);
        if (!v) throw new AdapterConfigError('BAD_AVERAGE', `Adapter '${names[i]}' has no parameter matching '${p.key}'`);
        return v;
      });
      const value = tf.tidy(() => combine(p.key, vars, lambda));
      p.variable.assign(value);
      value.dispose();
    }
  } catch (err) {
    disposeEntry(target);
    throw err;
  }
  model.registerEntry(target, { ...(options.overwriteOk ? { overwriteOk: true } : {}), ...(options.setActive ? { setActive: true } : {}) });
}
