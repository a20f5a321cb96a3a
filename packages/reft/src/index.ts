/**
 * `@adapterkit/reft`: ReFT as in `adapters` 1.1 — LoReFT, NoReFT and DiReFT interventions on layer outputs at
 * prefix/suffix positions taken from the attention mask. Files use the reference's keys
 * (`<layer>.reft_layer.refts.<name>.units.<u>....`), including LoReFT's orthogonal parametrisation.
 *
 * ```ts
 * const model = new AdapterModel(host, { methods: [...plugins] });
 * model.addAdapter('task', 'loreft[prefix_positions=3,suffix_positions=2,r=2]', { setActive: true });
 * ```
 *
 * @packageDocumentation
 */
import { reft } from './method';

export { reft, applyUnit, isReftInstance, type ReftInstance, type ReftUnit } from './method';
export { REFT, REFT_DEFAULTS, REFT_FIELDS, REFT_PRESETS, reftLayers, validateReftConfig, type ReftConfig } from './config';
export { LoReftConfig, NoReftConfig, DiReftConfig } from './reft-config';
export { householderWeight } from './householder';
export { reftPositions, type ReftPositions } from './positions';
export { parityAdapterConfig } from './parity';

/** What this package installs into a model: `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [reft] as const;
