import { AdapterConfigError, isBlock, lastAdapter, type CompositionBlock } from '@adapterkit/core';

/** How a fusion is named: a Fuse block, a list of adapter names, or the reference's `'a,b'` string. */
export type FusionSetup = CompositionBlock | readonly string[] | string;

/**
 * The adapters a fusion fuses, in order: a Fuse block's children (a nested Stack contributes its last adapter,
 * as the reference's `Fuse.name`), a list, or `'a,b'`.
 */
export function fusionAdapters(setup: FusionSetup): string[] {
  let names: string[];
  if (typeof setup === 'string') names = setup.split(',').map((s) => s.trim());
  else if (isBlock(setup)) {
    if (setup.type !== 'Fuse') throw new AdapterConfigError('BAD_FUSION_SETUP', `AdapterFusion needs a Fuse block, got ${setup.type}`);
    names = setup.children.map((c) => (typeof c === 'string' ? c : lastAdapter(c)));
  } else names = [...setup];
  if (names.length === 0 || names.some((n) => n.length === 0)) {
    throw new AdapterConfigError('BAD_FUSION_SETUP', `AdapterFusion needs adapter names, got ${JSON.stringify(setup)}`);
  }
  return names;
}

/** The reference's fusion name: the fused adapters joined with ',' (`Fuse('a', 'b')` → `'a,b'`). */
export function fusionName(setup: FusionSetup): string {
  return fusionAdapters(setup).join(',');
}
