import type { AnyAdapterMethod, MethodExtension } from '@adapterkit/core';
import type { ParityExtras } from './parity';

/** First-party method packages the runner looks for. */
export const FIRST_PARTY_PACKAGES = [
  '@adapterkit/bottleneck',
  '@adapterkit/invertible',
  '@adapterkit/compacter',
  '@adapterkit/prefix-tuning',
  '@adapterkit/prompt-tuning',
  '@adapterkit/reft',
  '@adapterkit/lora',
  '@adapterkit/union',
  '@adapterkit/training',
] as const;

/** What {@link discoverPlugins} found. */
export interface DiscoveredPlugins {
  readonly plugins: Array<AnyAdapterMethod | MethodExtension>;
  readonly extras: ParityExtras;
  readonly packages: string[];
  readonly missing: string[];
}

/**
 * `importer` must resolve packages from the caller's location (pass `(p) => import(p)`), since workspace
 * packages are only visible to packages that depend on them.
 *
 * Import every first-party method package that is installed and collect its `plugins` export plus the optional
 * functions parity needs (`ejectPrefixTuning`, `loadAdapterFusion`, `parityTrainStep`, `importPeftAdapter`).
 */
export async function discoverPlugins(
  importer: (pkg: string) => Promise<unknown>,
  packages: readonly string[] = FIRST_PARTY_PACKAGES,
): Promise<DiscoveredPlugins> {
  const plugins: Array<AnyAdapterMethod | MethodExtension> = [];
  const extras: Record<string, unknown> = {};
  const found: string[] = [];
  const missing: string[] = [];
  for (const pkg of packages) {
    let mod: Record<string, unknown>;
    try {
      mod = (await importer(pkg)) as Record<string, unknown>;
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (package|module)|Failed to load url|Failed to resolve/.test(String(err))) {
        missing.push(pkg);
        continue;
      }
      throw err;
    }
    found.push(pkg);
    if (Array.isArray(mod['plugins'])) plugins.push(...(mod['plugins'] as Array<AnyAdapterMethod | MethodExtension>));
    if (typeof mod['ejectPrefixTuning'] === 'function') extras['ejectPrefixTuning'] = mod['ejectPrefixTuning'];
    if (typeof mod['loadAdapterFusion'] === 'function') extras['loadAdapterFusion'] = mod['loadAdapterFusion'];
    if (typeof mod['parityTrainStep'] === 'function') extras['trainStep'] = mod['parityTrainStep'];
    if (typeof mod['importPeftAdapter'] === 'function') extras['importPeftAdapter'] = mod['importPeftAdapter'];
    if (typeof mod['parityAdapterConfig'] === 'function') {
      extras['adapterConfigFixes'] = [...((extras['adapterConfigFixes'] as unknown[] | undefined) ?? []), mod['parityAdapterConfig']];
    }
    if (typeof mod['parityCaseLoaders'] === 'object' && mod['parityCaseLoaders'] !== null) {
      extras['caseLoaders'] = { ...((extras['caseLoaders'] as object | undefined) ?? {}), ...(mod['parityCaseLoaders'] as object) };
    }
  }
  return { plugins, extras: extras as ParityExtras, packages: found, missing };
}
