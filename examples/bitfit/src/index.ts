/**
 * `@acme/adapterkit-bitfit`: BitFit (bias-only fine-tuning) as a third-party AdapterKit method, written only against
 * the public API of `@adapterkit/core`. Install with `new AdapterModel(host, { methods: [...plugins] })`; config
 * names `bitfit` and `bitfit_attn`, or typed configs `{ method: 'acme/bitfit', sites: [...] }`.
 *
 * @packageDocumentation
 */
import { bitfit } from './method';

export { bitfit } from './method';
export { BITFIT, BITFIT_DEFAULTS, BITFIT_FIELDS, BITFIT_PRESETS, BITFIT_SITES, validateBitFitConfig, type BitFitConfig, type BitFitSite } from './config';
export type { BitFitPoint } from './sites';

/** The plugins this package provides, for `new AdapterModel(host, { methods: [...plugins] })`. */
export const plugins = [bitfit] as const;
