import { AdapterConfigError, suggestNearest, type AdapterConfigBase, type FieldSpec, type HostInfo } from '@adapterkit/core';

/** The method id: third-party methods are namespaced. Also the `architecture` written to `adapter_config.json`. */
export const BITFIT = 'acme/bitfit';

/** Dense layers whose bias BitFit can shift, in forward order. */
export const BITFIT_SITES = ['query', 'key', 'value', 'intermediate', 'output'] as const;

/** A dense layer of a Transformer layer: attention query/key/value, FFN intermediate, FFN output. */
export type BitFitSite = (typeof BITFIT_SITES)[number];

/** Config of a BitFit adapter: which dense layers get a learned bias delta, and in which layers. */
export interface BitFitConfig extends AdapterConfigBase {
  readonly method: typeof BITFIT;
  /** Dense layers that get a bias delta `[out]`. */
  readonly sites: readonly BitFitSite[];
  /** Layer indices without deltas. */
  readonly leaveOut: readonly number[];
}

/** Field specs: `sites` / `leave_out` in config strings and `adapter_config.json`. */
export const BITFIT_FIELDS: { readonly [K in Exclude<keyof BitFitConfig, 'method'>]-?: FieldSpec } = {
  sites: { type: 'list', doc: "dense layers with a bias delta: 'query', 'key', 'value', 'intermediate', 'output'" },
  leaveOut: { type: 'list', doc: 'layers without deltas' },
};

/** Defaults: every site, every layer. */
export const BITFIT_DEFAULTS: Omit<BitFitConfig, 'method'> = {
  sites: BITFIT_SITES,
  leaveOut: [],
};

/** Config names: `bitfit` (every site) and `bitfit_attn` (query, key, value only). */
export const BITFIT_PRESETS = {
  bitfit: {},
  bitfit_attn: { sites: ['query', 'key', 'value'] },
} as const satisfies Record<string, Partial<Omit<BitFitConfig, 'method'>>>;

function fail(field: string, message: string): never {
  throw new AdapterConfigError('BAD_FIELD_VALUE', `${BITFIT}: field '${field}' ${message}`);
}

/**
 * Check a resolved config (and the host's layer count, when known): `sites` is a non-empty list of known sites
 * without repeats; `leave_out` holds layer indices of the host and leaves at least one layer.
 */
export function validateBitFitConfig(config: BitFitConfig, host?: HostInfo): void {
  if (config.sites.length === 0) fail('sites', 'must name at least one dense layer');
  const seen = new Set<string>();
  for (const site of config.sites as readonly unknown[]) {
    if (typeof site !== 'string' || !(BITFIT_SITES as readonly string[]).includes(site)) {
      const hint = typeof site === 'string' ? suggestNearest(site, BITFIT_SITES) : undefined;
      fail('sites', `has unknown site ${JSON.stringify(site)}${hint ? ` (did you mean '${hint}'?)` : ''}; sites: ${BITFIT_SITES.join(', ')}`);
    }
    if (seen.has(site)) fail('sites', `lists '${site}' twice`);
    seen.add(site);
  }
  for (const layer of config.leaveOut as readonly unknown[]) {
    if (typeof layer !== 'number' || !Number.isInteger(layer) || layer < 0) fail('leave_out', `must hold layer indices, got ${JSON.stringify(layer)}`);
    if (host && layer >= host.numLayers) fail('leave_out', `has layer ${layer}, but the ${host.modelType} host has ${host.numLayers} layers`);
  }
  if (host && new Set(config.leaveOut).size >= host.numLayers) fail('leave_out', `leaves out all ${host.numLayers} layers`);
}
