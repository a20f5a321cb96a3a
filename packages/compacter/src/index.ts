/**
 * `@adapterkit/compacter`: Compacter and Compacter++ (Karimi Mahabadi et al., 2021) as in adapter-transformers
 * 3.2.1: PHM layers `y = x·H + b`, `H = Σ_i S_i ⊗ W_i`, replacing the down/up projections of bottleneck adapters.
 * It fills the `projection` extension point of `@adapterkit/bottleneck`; install both:
 * `new AdapterModel(host, { methods: [...bottleneckPlugins, ...compacterPlugins] })`.
 *
 * @packageDocumentation
 */
import { defineProjectionExtension } from '@adapterkit/bottleneck';
import packageJson from '../package.json';
import { COMPACTER_PRESETS } from './config';
import { phmProvider } from './provider';

export { COMPACTER_PRESETS, CompacterConfig, CompacterPlusPlusConfig, validatePhmConfig } from './config';
export { phmWeight, factorProduct } from './kron';
export { phmProvider } from './provider';

/**
 * The PHM extension of the bottleneck method: builds the down/up projections of adapters with `phm_layer=True`
 * and adds the config names `compacter` (Houlsby + PHM) and `compacter++` (Pfeiffer + PHM).
 */
export const compacter = defineProjectionExtension({
  name: 'phm',
  presets: COMPACTER_PRESETS,
  impl: phmProvider,
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
});

/** Alias of {@link compacter}. */
export const phm = compacter;

/** The plugins this package provides (needs `@adapterkit/bottleneck`'s plugins beside it). */
export const plugins = [compacter] as const;
