/**
 * `@adapterkit/prefix-tuning`: prefix tuning as in adapter-transformers 3.2.1 — trainable key/value prefixes in
 * every attention layer, flat or reparameterised through an MLP, with `ejectPrefixTuning` to fold the MLP into a
 * flat prefix. Files use the reference's state-dict keys (`prefix_tuning.prefix_tunings.<name>.self_prefix.…`).
 *
 * ```ts
 * import { AdapterModel } from '@adapterkit/core';
 * import { plugins, ejectPrefixTuning } from '@adapterkit/prefix-tuning';
 * const model = new AdapterModel(host, { methods: [...plugins] });
 * model.addAdapter('task', 'prefix_tuning[prefix_length=30]', { setActive: true });
 * ```
 *
 * @packageDocumentation
 */
import { prefixTuning } from './method';

export { prefixTuning, isPrefixTuningInstance, type PrefixTuningInstance } from './method';
export {
  PrefixTuningConfig,
  PREFIX_TUNING,
  PREFIX_TUNING_DEFAULTS,
  PREFIX_TUNING_FIELDS,
  PREFIX_TUNING_PRESETS,
  prefixLayers,
  validatePrefixTuningConfig,
} from './config';
export { ejectPrefixTuning } from './eject';
export { PREFIX_BLOCKS } from './blocks';
export { SELF_PREFIX, type PrefixPool } from './pool';
export type { PrefixForwardState } from './attention';
export type { PrefixGate } from './gate';

/** Everything this package installs into an AdapterModel: `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [prefixTuning] as const;
