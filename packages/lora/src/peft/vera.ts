import {
  assignAdapterWeights,
  buildConfig,
  FileFormatError,
  WeightsMismatchError,
  type AdapterModel,
  type AddAdapterOptions,
  type ModuleSite,
  type TensorEntry,
} from '@adapterkit/core';
import { PEFT_IA3_SITES, peftIa3ModuleSite, type PeftIa3Site } from '../peft-ia3';
import { veraProjectionDims, veraSharedKeys, type VeraConfig } from '../vera';
import { PEFT_KEY_PREFIX } from './format';

/** Keys of PEFT VeRA's shared frozen projections (`save_projection=True`). */
export const VERA_SHARED = { A: 'base_model.vera_A', B: 'base_model.vera_B' } as const;

/**
 * A PEFT VeRA directory (`peft_type: VERA`) as a `vera` adapter, exactly: `base_model.vera_A` / `vera_B` become the
 * shared projections, `<module>.vera_lambda_{b,d}` the per-layer vectors; the targeted sites come from the keys.
 * The shared pair must be in the file (`save_projection: true`, PEFT's default): without it PEFT regenerates it
 * from `torch.Generator().manual_seed(projection_prng_key)` (kaiming-uniform, A drawn first), a stream only torch
 * reproduces, so such files are refused.
 */
export function importPeftVera(
  model: AdapterModel,
  name: string,
  peft: Record<string, unknown>,
  tensors: ReadonlyMap<string, TensorEntry>,
  source: string,
  options: AddAdapterOptions & { seed?: number },
): string {
  const A = tensors.get(VERA_SHARED.A);
  const B = tensors.get(VERA_SHARED.B);
  if (!A || !B) {
    throw new FileFormatError(
      'PEFT_UNSUPPORTED',
      `${source}: VeRA file without '${VERA_SHARED.A}' / '${VERA_SHARED.B}' (save_projection=${JSON.stringify(peft['save_projection'])}): PEFT regenerates them with torch's PRNG (projection_prng_key ${JSON.stringify(peft['projection_prng_key'])}), which cannot be reproduced outside torch; save the adapter with save_projection=True`,
    );
  }
  const info = model.info;
  const where = new Map<string, PeftIa3Site>();
  for (let layer = 0; layer < info.numLayers; layer++) {
    for (const s of PEFT_IA3_SITES) {
      const p = info.modulePath(peftIa3ModuleSite(s) as ModuleSite, layer);
      if (p !== undefined) where.set(p, s);
    }
  }
  const basePrefix = `${info.baseModelPrefix}.`;
  const files = new Map<string, TensorEntry>();
  const sites = new Set<PeftIa3Site>();
  const problems: string[] = [];
  for (const [key, t] of tensors) {
    if (key === VERA_SHARED.A || key === VERA_SHARED.B) continue;
    const m = /^(.*)\.vera_lambda_([bd])$/.exec(key);
    if (!m || !key.startsWith(PEFT_KEY_PREFIX)) {
      problems.push(`unexpected: ${key}`);
      continue;
    }
    const peftName = m[1]!.slice(PEFT_KEY_PREFIX.length);
    const path = peftName.startsWith(basePrefix) ? peftName.slice(basePrefix.length) : peftName;
    const site = where.get(path);
    if (!site) {
      problems.push(`${key}: module '${path}' is not a dense layer VeRA can adapt on ${info.modelType}`);
      continue;
    }
    sites.add(site);
    files.set(`${path}.vera_lambda_${m[2]}.${name}`, t);
  }
  if (problems.length > 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}:\n  ${problems.join('\n  ')}`);
  const method = model.methods.require('vera');
  const r = A.shape[0]!;
  const overrides = {
    targetSites: PEFT_IA3_SITES.filter((s) => sites.has(s)),
    r,
    projectionPrngKey: typeof peft['projection_prng_key'] === 'number' ? peft['projection_prng_key'] : 0,
    saveProjection: true,
    dInitial: typeof peft['d_initial'] === 'number' ? peft['d_initial'] : 0.1,
    veraDropout: typeof peft['vera_dropout'] === 'number' ? peft['vera_dropout'] : 0,
  };
  const full = buildConfig(method, undefined, overrides, source, info);
  const { maxIn, maxOut } = veraProjectionDims(full as unknown as VeraConfig, info, model.host.parameters);
  if (A.shape.length !== 2 || B.shape.length !== 2 || A.shape[1] !== maxIn || B.shape[0] !== maxOut || B.shape[1] !== r) {
    throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}: vera_A [${A.shape.join(', ')}] / vera_B [${B.shape.join(', ')}] do not fit the targeted layers ([${r}, ${maxIn}] / [${maxOut}, ${r}])`);
  }
  const shared = veraSharedKeys(name);
  files.set(shared.A, A);
  files.set(shared.B, B);
  const entry = model.createEntry(name, [{ method, config: full }], options.seed ?? 0);
  try {
    assignAdapterWeights(entry, files, source, model.warn);
  } catch (err) {
    for (const mem of entry.members) mem.instance.dispose?.();
    entry.params.dispose();
    throw err;
  }
  model.registerEntry(entry, options);
  return name;
}
