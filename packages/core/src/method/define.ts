import type * as tf from '@tensorflow/tfjs-core';
import type { BlockType } from '../composition/blocks';
import { AdapterConfigError } from '../errors';
import type { ForwardInfo, HandlerTable, HookPoint } from '../hooks/points';
import type { HostInfo } from '../model/host';
import type { ParamCollector } from '../model/params';
import type { Rng } from '../nn/init';
import type { BlockImplementations } from './blocks';
import type { MethodExtension } from './extension';

/** Version of the plugin contract. A method built for another major version is refused. */
export const METHOD_API_VERSION = 1;

/** Every adapter config names the method that implements it. */
export interface AdapterConfigBase {
  readonly method: string;
}

/** Value kinds of config fields; drives string parsing, validation and JSON typing (`float` keeps `.0`). */
export type FieldType = 'bool' | 'int' | 'float' | 'number' | 'string' | 'list' | 'map' | 'any';

/** Description of one config field. */
export interface FieldSpec {
  readonly type: FieldType;
  /** Key in `adapter_config.json` and config strings; default: the camelCase name in snake_case. */
  readonly snake?: string;
  readonly nullable?: boolean;
  /** Allowed values of `string` fields; for `float` fields, the strings accepted besides numbers (`scaling: 'learned'`). */
  readonly values?: readonly string[];
  /** `number` fields that may also be a per-layer map (`{'0': 4, 'default': 8}`). */
  readonly layerMap?: boolean;
  /**
   * Leave the field out of `adapter_config.json` while it equals its default (fields the reference version we
   * write for lacks, e.g. `adapters`' `dropout` on a bottleneck config), so its loaders see the exact key set.
   */
  readonly omitDefault?: boolean;
  /**
   * Smallest and largest accepted value of a numeric field (inclusive; each entry of a per-layer map too). Fields
   * that size parameters set them, so a config asking for an absurd size fails with a typed error before anything
   * is allocated.
   */
  readonly min?: number;
  readonly max?: number;
  readonly doc?: string;
}

/** Package metadata of a method, checked when a model is created. */
export interface MethodMeta {
  /** The npm package that provides the method (read from its `package.json`). */
  readonly package: string;
  /** That package's version (read from its `package.json`). */
  readonly version: string;
  /**
   * The plugin-contract version the method was written for: the package's own declaration
   * (`package.json` `"adapterkit": { "methodApiVersion": n }`), never core's {@link METHOD_API_VERSION} read at run
   * time, or the check against it could not fail.
   */
  readonly apiVersion: number;
}

/** What `create` receives. */
export interface CreateContext<C extends AdapterConfigBase> {
  /** Adapter name. */
  readonly name: string;
  /** Fully resolved config (every field present). */
  readonly config: C;
  readonly host: HostInfo;
  /** Register parameters here, under the reference's state-dict keys. */
  readonly params: ParamCollector;
  /** Seeded random source for initialisation. */
  readonly rng: Rng;
  /** Installed extensions of this method, by extension point (e.g. `projection` → the PHM extension). */
  readonly extensions: ReadonlyMap<string, MethodExtension>;
  /** The model's warning sink (e.g. for a config the host accepts but cannot act on). */
  readonly warn?: (message: string) => void;
  /**
   * The host's frozen base parameters under their HF names (memory layout: Linear weights `[in, out]`), for methods
   * whose update depends on the base weight (DoRA's magnitude and weight norm). Read them; never assign them
   * outside a merge.
   */
  readonly baseParameters?: ReadonlyMap<string, tf.Variable>;
}

/** A live adapter of one method: its handlers, and optional per-forward state. */
export interface MethodInstance<S = unknown> {
  readonly handlers: HandlerTable<S>;
  /** Called once at the start of every forward in which the adapter is active; the result is `ctx.state`. */
  beginForward?(info: ForwardInfo): S;
  /**
   * Called when the adapter enters (`true`) or leaves (`false`) the active setup, e.g. so LoRA can un-merge its
   * weights as the reference's `set_active_adapters` does.
   */
  onSetupChange?(active: boolean): void;
  /** Release anything not registered through `params` (those are released by the model). */
  dispose?(): void;
}

/** The plugin contract: what a method package provides. Create with {@link defineAdapterMethod}. */
export interface AdapterMethodSpec<C extends AdapterConfigBase, S = unknown> {
  /** Unique method id; third-party ids are namespaced (`acme/bitfit`). */
  readonly name: C['method'];
  /** `architecture` written to adapter_config.json; `null` = omitted (bottleneck, as the reference). */
  readonly architecture: string | null;
  /** Other `architecture` values that identify this method when reading files. */
  readonly architectureAliases?: readonly string[];
  /** Field specs of every config field except `method`. */
  readonly fields: { readonly [K in Exclude<keyof C, 'method'>]-?: FieldSpec };
  /** Defaults of every field. */
  readonly defaults: Omit<C, 'method'>;
  /** Named presets (pure overrides of the defaults), e.g. `pfeiffer`, `houlsby`. */
  readonly presets?: Readonly<Record<string, Partial<Omit<C, 'method'>>>>;
  /** Check a resolved config (and the host, when known); throw AdapterConfigError on misuse. */
  validate?(config: C, host?: HostInfo): void;
  /**
   * Settings of `config` that the AdapterHub libraries (adapter-transformers 3.2.1, `adapters` 1.1) would load
   * differently from us, one line each, naming the snake_case config field (e.g. `extra_modules: they have no LoRA on
   * these layers`); empty or absent when they load it as we do. `saveAdapter` refuses such a config unless
   * `{ adapterKitOnly: true }`, so that what we save in their layout is what they load.
   */
  adapterHubGaps?(config: C): readonly string[];
  /** Hook points the method may use; a host lacking one gets a CapabilityError at addAdapter. */
  readonly hooks: readonly HookPoint[];
  /** Build an adapter: register parameters and return the handlers. */
  create(ctx: CreateContext<C>): MethodInstance<S>;
  /**
   * Config names that expand to another config string, possibly a union (e.g. `mam` →
   * `prefix_tuning[bottleneck_size=800]|parallel`). Keyword arguments given to a macro apply to every member
   * that has the field.
   */
  readonly macros?: Readonly<Record<string, string>>;
  /** Extension points other packages may fill (e.g. `projection`). */
  readonly extensionPoints?: readonly string[];
  /** Composition blocks (other than Stack) the method implements, per hook point. */
  readonly blocks?: BlockImplementations;
  readonly meta: MethodMeta;
  readonly description?: string;
}

/** A defined method (frozen, branded). */
export interface AdapterMethod<C extends AdapterConfigBase = AdapterConfigBase, S = unknown> extends AdapterMethodSpec<C, S> {
  readonly kind: 'adapterkit.method';
}

/** Any method, for containers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAdapterMethod = AdapterMethod<any, any>;

/** The full config type of a method. */
export type ConfigOf<M> = M extends AdapterMethod<infer C, infer _S> ? C : never;

/** What users may pass for a method: its `method` tag plus any subset of fields. */
export type ConfigInput<M> = M extends AdapterMethod<infer C, infer _S>
  ? { readonly method: C['method'] } & Partial<Omit<C, 'method'>>
  : never;

/** Block types a method can be asked to support. */
export type SupportedBlock = Exclude<BlockType, 'Stack'>;

const NAME_RE = /^(?:[a-z0-9][a-z0-9_-]*\/)?[a-z0-9][a-z0-9_+-]*$/;

/**
 * Define a method plugin. Checks the spec (name syntax, api version, every field has a default) and returns a
 * frozen value; nothing is registered globally — pass it to `new AdapterModel(host, { methods: [...] })`.
 */
export function defineAdapterMethod<C extends AdapterConfigBase, S = unknown>(spec: AdapterMethodSpec<C, S>): AdapterMethod<C, S> {
  if (!NAME_RE.test(spec.name)) {
    throw new AdapterConfigError('BAD_METHOD_NAME', `Method name '${spec.name}' is invalid: use lower-case letters, digits, '_' or '-', namespaced third-party names as 'acme/bitfit'`);
  }
  if (spec.meta.apiVersion !== METHOD_API_VERSION) {
    throw new AdapterConfigError('API_VERSION', `Method '${spec.name}' (${spec.meta.package}@${spec.meta.version}) targets plugin API v${spec.meta.apiVersion}; this core implements v${METHOD_API_VERSION}`);
  }
  for (const key of Object.keys(spec.fields)) {
    if (!(key in (spec.defaults as object))) {
      throw new AdapterConfigError('MISSING_DEFAULT', `Method '${spec.name}': field '${key}' has no default`);
    }
  }
  for (const [preset, overrides] of Object.entries(spec.presets ?? {})) {
    for (const key of Object.keys(overrides as object)) {
      if (!(key in spec.fields)) throw new AdapterConfigError('BAD_PRESET', `Method '${spec.name}': preset '${preset}' sets unknown field '${key}'`);
    }
  }
  return Object.freeze({ ...spec, kind: 'adapterkit.method' as const });
}
