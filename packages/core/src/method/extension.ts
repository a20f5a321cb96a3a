import { AdapterConfigError } from '../errors';
import type { HookPoint } from '../hooks/points';
import { METHOD_API_VERSION, type MethodMeta } from './define';

/**
 * An extension fills an extension point that a method declares (e.g. `@adapterkit/compacter` fills the
 * bottleneck's `projection` point, `@adapterkit/invertible` its `invertible` point). Extensions are passed in
 * the same `methods` list as methods; the extended method receives them in `create` via `ctx.extensions`.
 * `Impl` is the contract the extended method's package defines; core treats it as opaque.
 */
export interface MethodExtensionSpec<Impl = unknown> {
  /** Unique extension id, e.g. `phm`. */
  readonly name: string;
  /** Name of the method it extends, e.g. `bottleneck`. */
  readonly extends: string;
  /** The extension point it fills, e.g. `projection`. */
  readonly point: string;
  /** Presets it adds to the extended method (camelCase field overrides), e.g. `compacter`. */
  readonly presets?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Extra hook points it may use. */
  readonly hooks?: readonly HookPoint[];
  /** The implementation handed to the extended method. */
  readonly impl: Impl;
  readonly meta: MethodMeta;
}

/** A defined extension (frozen, branded). */
export interface MethodExtension<Impl = unknown> extends MethodExtensionSpec<Impl> {
  readonly kind: 'adapterkit.extension';
}

/** Define an extension; see {@link MethodExtensionSpec}. */
export function defineMethodExtension<Impl>(spec: MethodExtensionSpec<Impl>): MethodExtension<Impl> {
  if (spec.meta.apiVersion !== METHOD_API_VERSION) {
    throw new AdapterConfigError('API_VERSION', `Extension '${spec.name}' (${spec.meta.package}) targets plugin API v${spec.meta.apiVersion}; this core implements v${METHOD_API_VERSION}`);
  }
  return Object.freeze({ ...spec, kind: 'adapterkit.extension' as const });
}

/** Is this value an extension (rather than a method)? */
export function isMethodExtension(x: unknown): x is MethodExtension {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'adapterkit.extension';
}
