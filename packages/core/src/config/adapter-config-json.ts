import { AdapterConfigError } from '../errors';
import type { FieldSpec } from '../method/define';
import type { HostInfo } from '../model/host';
import { fieldLookup, snakeKey, UNION_METHOD, type MethodRegistry } from './registry';
import { buildConfig, validateUnion, type ResolvedMember } from './resolve';

/** Version string written to `adapter_config.json` (the reference format we are compatible with). */
export const ADAPTER_FORMAT_VERSION = '3.2.1';

/** A config dict as in `adapter_config.json` → `config`, plus the paths of float-typed values. */
export interface ConfigJson {
  readonly dict: Record<string, unknown>;
  /** Paths (key lists) whose numbers must be written as Python floats. */
  readonly floatPaths: readonly string[][];
}

/** Equal values, lists compared element by element (an omit-by-default list field equal to its default). */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** The snake_case dict of one member, as the reference's `to_dict()`. */
export function memberToJson(member: ResolvedMember, path: string[] = []): ConfigJson {
  const dict: Record<string, unknown> = {};
  const floatPaths: string[][] = [];
  if (member.method.architecture !== null) dict['architecture'] = member.method.architecture;
  for (const [field, spec] of Object.entries(member.method.fields as Record<string, FieldSpec>)) {
    const key = snakeKey(field, spec);
    const value = member.config[field];
    if (spec.omitDefault && sameValue(value, (member.method.defaults as Record<string, unknown>)[field])) continue;
    dict[key] = value;
    if (spec.type === 'float' && typeof value === 'number') floatPaths.push([...path, key]);
  }
  return { dict, floatPaths };
}

/** The `config` dict of an adapter: one member's dict, or `{architecture: 'union', configs: [...]}`. */
export function adapterConfigToJson(members: readonly ResolvedMember[]): ConfigJson {
  if (members.length === 1) return memberToJson(members[0]!);
  const parts = members.map((m, i) => memberToJson(m, ['configs', String(i)]));
  return {
    dict: { architecture: UNION_METHOD, configs: parts.map((p) => p.dict) },
    floatPaths: parts.flatMap((p) => p.floatPaths),
  };
}

/** Activation names of version-less (v1-era) configs, renamed on load as the reference does. */
const ACTIVATION_RENAME: Record<string, string> = { gelu: 'gelu_new', gelu_orig: 'gelu' };

/**
 * Read a saved config dict back into members. Unknown keys (e.g. written by a newer reference version) are
 * reported through `warn` and ignored; known keys are validated like user input.
 */
export function adapterConfigFromJson(
  dict: unknown,
  registry: MethodRegistry,
  source: string,
  opts: { host?: HostInfo; hasVersion?: boolean; warn?: (msg: string) => void } = {},
): ResolvedMember[] {
  if (typeof dict !== 'object' || dict === null || Array.isArray(dict)) {
    throw new AdapterConfigError('BAD_CONFIG_JSON', `${source}: "config" must be an object`);
  }
  const d = dict as Record<string, unknown>;
  if (d['architecture'] === UNION_METHOD) {
    if (!Array.isArray(d['configs'])) throw new AdapterConfigError('BAD_CONFIG_JSON', `${source}: union config lacks "configs"`);
    const members = (d['configs'] as unknown[]).flatMap((c, i) => adapterConfigFromJson(c, registry, `${source} configs[${i}]`, opts));
    validateUnion(members, registry, opts.host);
    return members;
  }
  const method = registry.byArchitecture(d['architecture'] as string | undefined, source);
  const lookup = fieldLookup(method);
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(d)) {
    if (key === 'architecture') continue;
    if (!lookup.has(key)) {
      opts.warn?.(`${source}: ignoring unknown config key '${key}' for method '${method.name}'`);
      continue;
    }
    overrides[key] = value;
  }
  if (opts.hasVersion === false && typeof overrides['non_linearity'] === 'string') {
    overrides['non_linearity'] = ACTIVATION_RENAME[overrides['non_linearity'] as string] ?? overrides['non_linearity'];
  }
  return [{ method, config: buildConfig(method, undefined, overrides, source, opts.host) }];
}
