import { AdapterConfigError } from '../errors';
import type { AnyAdapterMethod, FieldSpec } from '../method/define';
import { isMethodExtension, type MethodExtension } from '../method/extension';
import { KNOWN_ARCHITECTURE_PACKAGES, KNOWN_CONFIG_PACKAGES } from './known-configs';
import { camelToSnake, suggestNearest } from './spec-string';

/** Name of the method that validates config unions (provided by `@adapterkit/union`). */
export const UNION_METHOD = 'union';

/**
 * The methods installed in one model. Duplicate names throw. Resolves config names (presets), architectures
 * of saved configs and field names (snake_case or camelCase).
 */
export class MethodRegistry {
  private readonly methods = new Map<string, AnyAdapterMethod>();
  private readonly presets = new Map<string, { method: AnyAdapterMethod; preset: string | undefined; overrides?: Readonly<Record<string, unknown>> }>();
  private readonly extensions = new Map<string, Map<string, MethodExtension>>();
  private readonly macros = new Map<string, { method: AnyAdapterMethod; expansion: string }>();

  constructor(entries: ReadonlyArray<AnyAdapterMethod | MethodExtension>) {
    const methods = entries.filter((e): e is AnyAdapterMethod => !isMethodExtension(e));
    for (const m of methods) {
      if (m.kind !== 'adapterkit.method') {
        throw new AdapterConfigError('NOT_A_METHOD', `methods[] must contain values made with defineAdapterMethod (got ${String((m as { name?: unknown }).name)})`);
      }
      if (this.methods.has(m.name)) {
        throw new AdapterConfigError('DUPLICATE_METHOD', `Method '${m.name}' is installed twice (${this.methods.get(m.name)!.meta.package} and ${m.meta.package})`);
      }
      this.methods.set(m.name, m);
    }
    for (const m of methods) {
      this.addName(m.name, m, undefined);
      for (const preset of Object.keys(m.presets ?? {})) this.addName(preset, m, preset);
    }
    for (const m of methods) {
      for (const [name, expansion] of Object.entries(m.macros ?? {})) {
        if (this.presets.has(name) || this.macros.has(name)) throw new AdapterConfigError('DUPLICATE_CONFIG_NAME', `Config name '${name}' is defined twice (macro of '${m.name}')`);
        this.macros.set(name, { method: m, expansion });
      }
    }
    for (const ext of entries.filter(isMethodExtension)) {
      const target = this.methods.get(ext.extends);
      if (!target) {
        throw new AdapterConfigError('EXTENSION_TARGET_MISSING', `Extension '${ext.name}' (${ext.meta.package}) extends method '${ext.extends}', which is not installed; add it to methods`);
      }
      if (!target.extensionPoints?.includes(ext.point)) {
        throw new AdapterConfigError('BAD_EXTENSION_POINT', `Method '${target.name}' has no extension point '${ext.point}' (extension '${ext.name}')`);
      }
      const byPoint = this.extensions.get(target.name) ?? new Map<string, MethodExtension>();
      if (byPoint.has(ext.point)) {
        throw new AdapterConfigError('DUPLICATE_EXTENSION', `Extension point '${target.name}.${ext.point}' is filled twice ('${byPoint.get(ext.point)!.name}' and '${ext.name}')`);
      }
      byPoint.set(ext.point, ext);
      this.extensions.set(target.name, byPoint);
      for (const [preset, overrides] of Object.entries(ext.presets ?? {})) {
        if (this.presets.has(preset)) throw new AdapterConfigError('DUPLICATE_CONFIG_NAME', `Config name '${preset}' is defined twice (extension '${ext.name}')`);
        this.presets.set(preset, { method: target, preset: undefined, overrides });
      }
    }
  }

  /** Extensions installed for a method, by extension point. */
  extensionsFor(method: string): ReadonlyMap<string, MethodExtension> {
    return this.extensions.get(method) ?? new Map();
  }

  private addName(name: string, method: AnyAdapterMethod, preset: string | undefined): void {
    const prev = this.presets.get(name);
    if (prev && prev.method !== method) {
      throw new AdapterConfigError('DUPLICATE_CONFIG_NAME', `Config name '${name}' is defined by both '${prev.method.name}' and '${method.name}'`);
    }
    if (!prev || preset === undefined) this.presets.set(name, { method, preset });
  }

  /** Installed methods. */
  list(): AnyAdapterMethod[] {
    return [...this.methods.values()];
  }

  get(name: string): AnyAdapterMethod | undefined {
    return this.methods.get(name);
  }

  /** A method by name, or a typed error naming the package that provides it. */
  require(name: string, what = 'method'): AnyAdapterMethod {
    const m = this.methods.get(name);
    if (m) return m;
    throw this.notInstalled(name, what);
  }

  /** The expansion of a macro config name (`mam` → `prefix_tuning[...]|parallel`), if it is one. */
  macro(name: string): string | undefined {
    return this.macros.get(name)?.expansion;
  }

  /** Find a config name (`pfeiffer`, `lora`, `bottleneck`). */
  lookupConfigName(name: string): { method: AnyAdapterMethod; preset: string | undefined; overrides?: Readonly<Record<string, unknown>> } {
    const hit = this.presets.get(name);
    if (hit) return hit;
    throw this.notInstalled(name, 'config');
  }

  /** The method that reads a saved config with this `architecture` (absent = bottleneck). */
  byArchitecture(architecture: string | undefined | null, source: string): AnyAdapterMethod {
    const arch = architecture ?? 'bottleneck';
    for (const m of this.methods.values()) {
      if ((m.architecture ?? 'bottleneck') === arch || m.architectureAliases?.includes(arch)) return m;
    }
    const pkg = KNOWN_ARCHITECTURE_PACKAGES[arch];
    throw new AdapterConfigError(
      'METHOD_NOT_INSTALLED',
      `${source}: architecture '${arch}' needs ${pkg ?? 'a method package that is not installed'}` +
        `; installed methods: ${this.installedList()}`,
    );
  }

  private installedList(): string {
    return this.methods.size ? [...this.methods.keys()].join(', ') : '(none)';
  }

  private notInstalled(name: string, what: string): AdapterConfigError {
    const pkg = KNOWN_CONFIG_PACKAGES[name];
    if (pkg) {
      return new AdapterConfigError(
        'METHOD_NOT_INSTALLED',
        `Adapter ${what} '${name}' is provided by ${pkg}, which is not installed in this model (installed: ${this.installedList()}). ` +
          `Install ${pkg} and pass it in loadModel(..., { methods: [...] }).`,
      );
    }
    const hint = suggestNearest(name, [...this.presets.keys(), ...Object.keys(KNOWN_CONFIG_PACKAGES)]);
    const shown = name.length > 120 ? `${name.slice(0, 120)}… (${name.length} characters)` : name;
    return new AdapterConfigError(
      'UNKNOWN_CONFIG',
      `Unknown adapter ${what} '${shown}'${hint ? `; did you mean '${hint}'?` : ''} (known here: ${[...this.presets.keys()].join(', ') || '(none)'})`,
    );
  }
}

/** snake_case key of a field. */
export function snakeKey(field: string, spec: FieldSpec): string {
  return spec.snake ?? camelToSnake(field);
}

/** Map from every accepted spelling (snake and camel) of a method's fields to the field name. */
export function fieldLookup(method: AnyAdapterMethod): Map<string, string> {
  const out = new Map<string, string>();
  for (const [field, spec] of Object.entries(method.fields as Record<string, FieldSpec>)) {
    out.set(field, field);
    out.set(snakeKey(field, spec), field);
  }
  return out;
}
