/**
 * For the parity runner: the `adapter_config.json` config of a reference case, corrected where `adapters` 1.1 saves
 * it wrongly. The reference's `DiReftConfig.subtract_projection = False` is an unannotated class attribute, so its
 * files read like NoReFT and its own `load_adapter` builds a NoReFT (golden-next README, "ReFT"). A case recorded
 * with `DiReftConfig` (its `description` names the class) gets `subtract_projection: false`; every other config is
 * returned unchanged (undefined).
 */
export function parityAdapterConfig(meta: Record<string, unknown>, config: Record<string, unknown>): Record<string, unknown> | undefined {
  if (config['architecture'] !== 'reft' || 'subtract_projection' in config) return undefined;
  const description = typeof meta['description'] === 'string' ? meta['description'] : '';
  if (!/\bDiReftConfig\b/.test(description)) return undefined;
  return { ...config, subtract_projection: false };
}
