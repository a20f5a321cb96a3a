import type * as tf from '@tensorflow/tfjs-core';
import {
  defineMethodExtension,
  type HostInfo,
  type MethodExtension,
  type MethodExtensionSpec,
  type ParamCollector,
  type Rng,
} from '@adapterkit/core';
import type { BottleneckConfig } from './config';

/**
 * Extension points of the bottleneck method. Other packages fill them with {@link defineProjectionExtension} /
 * {@link defineInvertibleExtension} and are installed beside the method: `methods: [bottleneck, phm]`.
 */
export const PROJECTION_POINT = 'projection';
export const INVERTIBLE_POINT = 'invertible';

/** Where a bottleneck module sits, by the reference's location key. */
export type BottleneckLocation = 'mh_adapter' | 'output_adapter';

/** What a projection provider gets once per adapter. */
export interface ProjectionAdapterContext {
  /** Adapter name. */
  readonly name: string;
  readonly config: BottleneckConfig;
  readonly host: HostInfo;
  /** Register parameters here, under the reference's keys. */
  readonly params: ParamCollector;
  readonly rng: Rng;
  /** Key prefix of parameters shared by all layers of this adapter: `shared_parameters.<name>`. */
  readonly sharedKeyPrefix: string;
}

/** One projection of one bottleneck module. */
export interface ProjectionSpec {
  readonly layer: number;
  readonly location: BottleneckLocation;
  /** `down`: hidden → bottleneck; `up`: bottleneck → hidden. */
  readonly role: 'down' | 'up';
  readonly inFeatures: number;
  readonly outFeatures: number;
  /**
   * Key prefix of the projection's own parameters, e.g. `encoder.layer.0.output.adapters.a.adapter_down.0`
   * (`adapter_down.1` when `ln_before`) or `….adapters.a.adapter_up`.
   */
  readonly keyPrefix: string;
}

/** A projection: `[..., inFeatures]` → `[..., outFeatures]`. Called inside the model's forward `tf.tidy`. */
export type Projection = (x: tf.Tensor) => tf.Tensor;

/** The projections of one adapter. */
export interface AdapterProjections {
  /** Create one projection, registering its parameters under `spec.keyPrefix`. */
  create(spec: ProjectionSpec): Projection;
  /** Release anything not registered through `params`. */
  dispose?(): void;
}

/**
 * Contract of the `projection` extension point (filled by `@adapterkit/compacter`): used when `phmLayer` is true
 * to build the down/up projections instead of `nn.Linear`. `forAdapter` runs once per adapter and registers the
 * parameters shared across layers (under `sharedKeyPrefix`), then `create` runs per module and projection.
 * Initialisation (`config.initWeights`) of these parameters is the provider's.
 */
export interface ProjectionProvider {
  forAdapter(ctx: ProjectionAdapterContext): AdapterProjections;
}

/** What an invertible-adapter provider gets, once per adapter. */
export interface InvertibleContext {
  readonly name: string;
  readonly config: BottleneckConfig;
  readonly host: HostInfo;
  readonly params: ParamCollector;
  readonly rng: Rng;
  /** Key prefix of the invertible adapter's parameters: `invertible_adapters.<name>`. */
  readonly keyPrefix: string;
}

/** An invertible adapter (NICE, GLOW): a bijection on `[batch, seq, hidden]`. */
export interface InvertibleAdapter {
  /** Applied at `embeddings.output`: `[batch, seq, hidden]` → same. */
  forward(x: tf.Tensor3D): tf.Tensor3D;
  /** Applied at `head.input` (before a tied LM head): the inverse of {@link forward}. */
  inverse(x: tf.Tensor3D): tf.Tensor3D;
  dispose?(): void;
}

/**
 * Contract of the `invertible` extension point (filled by `@adapterkit/invertible`): used when `invAdapter` is
 * set. The bottleneck method wraps the result in its `embeddings.output` and `head.input` handlers and applies it
 * only for the first adapter of the active setup, as the reference does.
 */
export interface InvertibleProvider {
  create(ctx: InvertibleContext): InvertibleAdapter;
}

/** Spec of an extension of one bottleneck extension point (`extends` and `point` are filled in). */
export type BottleneckExtensionSpec<Impl> = Omit<MethodExtensionSpec<Impl>, 'extends' | 'point'>;

/** Define a `projection` extension of the bottleneck method (e.g. PHM layers). */
export function defineProjectionExtension(spec: BottleneckExtensionSpec<ProjectionProvider>): MethodExtension<ProjectionProvider> {
  return defineMethodExtension({ ...spec, extends: 'bottleneck', point: PROJECTION_POINT });
}

/**
 * Define an `invertible` extension of the bottleneck method (e.g. NICE / GLOW). It runs at `embeddings.output`, so
 * that hook point is required (unless `spec.hooks` says otherwise): a config with `inv_adapter` on a host without
 * it fails at `addAdapter` with a `CapabilityError`.
 */
export function defineInvertibleExtension(spec: BottleneckExtensionSpec<InvertibleProvider>): MethodExtension<InvertibleProvider> {
  return defineMethodExtension({ hooks: ['embeddings.output'], ...spec, extends: 'bottleneck', point: INVERTIBLE_POINT });
}
