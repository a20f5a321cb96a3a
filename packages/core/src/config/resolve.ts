import { AdapterConfigError } from '../errors';
import { previewJsonValue } from '../io/json-limits';
import type { AdapterConfigBase, AnyAdapterMethod, FieldSpec } from '../method/define';
import type { HostInfo } from '../model/host';
import { fieldLookup, snakeKey, UNION_METHOD, type MethodRegistry } from './registry';
import { parseAdapterSpec, suggestNearest } from './spec-string';

/** A fully resolved config of one method (every field present). */
export type FullConfig = AdapterConfigBase & Record<string, unknown>;

/** One member of a resolved adapter config; a config union has several. */
export interface ResolvedMember {
  readonly method: AnyAdapterMethod;
  readonly config: FullConfig;
}

/** A config union: several method configs forming one adapter. */
export interface UnionConfigInput {
  readonly method: 'union';
  readonly configs: ReadonlyArray<AdapterConfigBase | string>;
}

/** Anything `addAdapter` accepts as a config. */
export type AdapterConfigInput = string | AdapterConfigBase | UnionConfigInput;

function describeValue(v: unknown): string {
  const text = typeof v === 'string' ? `'${v}'` : previewJsonValue(v);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** Check and normalise one field value against its spec. */
export function coerceField(method: AnyAdapterMethod, field: string, spec: FieldSpec, value: unknown, where: string): unknown {
  const key = snakeKey(field, spec);
  const fail = (expected: string): never => {
    throw new AdapterConfigError('BAD_FIELD_VALUE', `${where}: field '${key}' of '${method.name}' must be ${expected}, got ${describeValue(value)}`);
  };
  if (value === null || value === undefined) {
    if (spec.nullable) return null;
    return fail(`a ${spec.type}`);
  }
  const v = coerceType(spec, value, fail);
  if (spec.min !== undefined || spec.max !== undefined) {
    const inRange = (n: unknown): boolean => typeof n !== 'number' || ((spec.min === undefined || n >= spec.min) && (spec.max === undefined || n <= spec.max));
    const range = spec.min !== undefined && spec.max !== undefined ? `between ${spec.min} and ${spec.max}` : spec.min !== undefined ? `at least ${spec.min}` : `at most ${spec.max}`;
    if (typeof v === 'number' && !inRange(v)) fail(range);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      for (const [k, n] of Object.entries(v as Record<string, unknown>)) if (!inRange(n)) fail(`${range} (entry '${k}')`);
    }
  }
  return v;
}

function coerceType(spec: FieldSpec, value: unknown, fail: (expected: string) => never): unknown {
  switch (spec.type) {
    case 'bool':
      return typeof value === 'boolean' ? value : fail('True or False');
    case 'int':
      return typeof value === 'number' && Number.isInteger(value) ? value : fail('an integer');
    case 'float':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && spec.values?.includes(value)) return value;
      return fail(spec.values ? `a number or one of ${spec.values.map((v) => `'${v}'`).join(', ')}` : 'a number');
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (spec.layerMap && typeof value === 'object' && !Array.isArray(value)) {
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (typeof v !== 'number') fail(`a number or a per-layer map of numbers (entry '${k}')`);
        }
        return value;
      }
      return fail(spec.layerMap ? "a number or a per-layer map like {'0': 4, 'default': 8}" : 'a number');
    case 'string':
      if (typeof value !== 'string') return fail('a string');
      if (spec.values && !spec.values.includes(value)) {
        const hint = suggestNearest(value, spec.values);
        return fail(`one of ${spec.values.map((v) => `'${v}'`).join(', ')}${hint ? ` (did you mean '${hint}'?)` : ''}`);
      }
      return value;
    case 'list':
      return Array.isArray(value) ? value : fail('a list');
    case 'map':
      return typeof value === 'object' && !Array.isArray(value) ? value : fail('a dict');
    default:
      return value;
  }
}

/**
 * Build a full config of `method` from defaults, an optional preset and user overrides (keys in snake_case or
 * camelCase). Unknown keys fail with the nearest known key.
 */
export function buildConfig(
  method: AnyAdapterMethod,
  preset: string | undefined,
  overrides: Record<string, unknown>,
  where: string,
  host?: HostInfo,
): FullConfig {
  const lookup = fieldLookup(method);
  const fields = method.fields as Record<string, FieldSpec>;
  const out: Record<string, unknown> = { ...(method.defaults as object), ...(preset ? (method.presets?.[preset] as object) : {}) };
  for (const [rawKey, value] of Object.entries(overrides)) {
    if (rawKey === 'method') continue;
    const field = lookup.get(rawKey);
    if (!field) {
      const hint = suggestNearest(rawKey, [...lookup.keys()].filter((k) => k.includes('_') || !/[A-Z]/.test(k)));
      throw new AdapterConfigError(
        'UNKNOWN_FIELD',
        `${where}: '${method.name}' has no field '${rawKey}'${hint ? `; did you mean '${hint}'?` : ''}`,
      );
    }
    out[field] = coerceField(method, field, fields[field]!, value, where);
  }
  for (const [field, spec] of Object.entries(fields)) out[field] = coerceField(method, field, spec, out[field], where);
  const config = { method: method.name, ...out } as FullConfig;
  method.validate?.(config as never, host);
  return Object.freeze(config);
}

function resolveOne(input: string | AdapterConfigBase, registry: MethodRegistry, host?: HostInfo): ResolvedMember[] {
  if (typeof input === 'string') {
    const chunks = parseAdapterSpec(input);
    return chunks.flatMap((chunk) => {
      const expansion = registry.macro(chunk.name);
      if (expansion !== undefined) return applyToMembers(resolveOne(expansion, registry, host), chunk.kwargs, `config '${input}'`, host);
      const { method, preset, overrides } = registry.lookupConfigName(chunk.name);
      return [{ method, config: buildConfig(method, preset, { ...(overrides ?? {}), ...chunk.kwargs }, `config '${input}'`, host) }];
    });
  }
  if (typeof input !== 'object' || input === null || typeof input.method !== 'string') {
    throw new AdapterConfigError('BAD_CONFIG', `An adapter config must be a config string or an object with a 'method' field, got ${JSON.stringify(input)}`);
  }
  if (input.method === UNION_METHOD) {
    const configs = (input as UnionConfigInput).configs;
    if (!Array.isArray(configs)) throw new AdapterConfigError('BAD_CONFIG', `A union config needs 'configs: [...]'`);
    return configs.flatMap((c) => resolveOne(c, registry, host));
  }
  const method = registry.require(input.method);
  return [{ method, config: buildConfig(method, undefined, input as unknown as Record<string, unknown>, `config of method '${method.name}'`, host) }];
}

/** Apply keyword arguments of a macro to every member that has the field; a key no member has is an error. */
function applyToMembers(members: ResolvedMember[], kwargs: Record<string, unknown>, where: string, host?: HostInfo): ResolvedMember[] {
  const keys = Object.keys(kwargs);
  for (const key of keys) {
    if (!members.some((m) => fieldLookup(m.method).has(key))) {
      throw new AdapterConfigError('UNKNOWN_FIELD', `${where}: no member of this union has a field '${key}' (members: ${members.map((m) => m.method.name).join(', ')})`);
    }
  }
  if (keys.length === 0) return members;
  return members.map((m) => {
    const lookup = fieldLookup(m.method);
    const own = Object.fromEntries(keys.filter((k) => lookup.has(k)).map((k) => [k, kwargs[k]]));
    return { method: m.method, config: buildConfig(m.method, undefined, { ...m.config, ...own }, where, host) };
  });
}

/**
 * Resolve what a user passed to `addAdapter` into members. Several members (a `a|b` string or a union
 * object) need the `union` method (`@adapterkit/union`), which validates the combination.
 */
export function resolveAdapterConfig(input: AdapterConfigInput, registry: MethodRegistry, host?: HostInfo): ResolvedMember[] {
  const members = resolveOne(input as string | AdapterConfigBase, registry, host);
  if (members.length > 1 || (typeof input === 'object' && input.method === UNION_METHOD)) validateUnion(members, registry, host);
  return members;
}

/**
 * Hand a union to the installed union validator (with the host, when known, so that it can check where the
 * members are placed), or fail naming the package that provides it.
 */
export function validateUnion(members: readonly ResolvedMember[], registry: MethodRegistry, host?: HostInfo): void {
  const union = registry.require(UNION_METHOD, 'config union (a|b)');
  union.validate?.({ method: UNION_METHOD, configs: members.map((m) => m.config), members } as never, host);
}
