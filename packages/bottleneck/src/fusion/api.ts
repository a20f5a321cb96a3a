import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterStateError,
  adapterNames,
  CapabilityError,
  Fuse,
  isBlock,
  ParamCollector,
  Rng,
  toSetup,
  type AdapterModel,
  type CompositionBlock,
  type NamedParam,
  type SetupNode,
} from '@adapterkit/core';
import type { BottleneckConfig } from '../config';
import { LOCATIONS } from '../sublayer';
import { resolveFusionConfig, type AdapterFusionConfig, type AdapterFusionConfigInput } from './config';
import { createFusionLayer, type FusionLayer } from './layer';
import { fusionAdapters, fusionName, type FusionSetup } from './name';
import { fusionLayerKey, fusionRegistry, type Fusion, type FusionAttentions } from './registry';

/** Options of {@link addAdapterFusion}. */
export interface AddAdapterFusionOptions {
  /** Replace an existing fusion of the same adapters. */
  readonly overwriteOk?: boolean;
  /** Activate `Fuse(...)` of the fused adapters afterwards. */
  readonly setActive?: boolean;
  /** Seed of the initialisation (default 42). */
  readonly seed?: number;
}

/** A built fusion and its parameters, not yet registered in a model. */
export interface BuiltFusion {
  readonly fusion: Fusion;
  readonly params: ParamCollector;
}

/** The bottleneck config of an adapter, or an error naming its methods. */
function bottleneckConfigOf(model: AdapterModel, name: string): BottleneckConfig {
  const entry = model.requireAdapter(name);
  const member = entry.members.find((m) => m.method.name === 'bottleneck');
  if (!member) {
    throw new CapabilityError(
      'FUSION_NEEDS_BOTTLENECK',
      `AdapterFusion fuses bottleneck adapters; '${name}' is a ${entry.members.map((m) => `'${m.method.name}'`).join(' + ')} adapter`,
    );
  }
  return member.config as unknown as BottleneckConfig;
}

/** The host's `attention_probs_dropout_prob` (hosts of @adapterkit/models expose their config), else BERT's 0.1. */
function hostAttentionDropout(model: AdapterModel): number {
  const p = (model.host as { config?: { attentionDropout?: unknown } }).config?.attentionDropout;
  return typeof p === 'number' ? p : 0.1;
}

/**
 * Create the layers of a fusion of `adapters` (every fused adapter must exist and be a bottleneck adapter): one per
 * layer and location where all of them have the location flag (`mh_adapter` / `output_adapter`), as the
 * reference's `common_config_value`, under `<module path>.adapter_fusion_layer.<a,b>.*`. Not registered.
 */
export function buildFusion(model: AdapterModel, adapters: readonly string[], config: AdapterFusionConfig, seed = 42): BuiltFusion {
  const name = adapters.join(',');
  const configs = adapters.map((a) => bottleneckConfigOf(model, a));
  const info = model.info;
  const dropout = config.dropoutProb ?? hostAttentionDropout(model);
  const params = new ParamCollector(`fusion:${name}`);
  const rng = new Rng(seed);
  const layers = new Map<string, FusionLayer>();
  try {
    for (let layer = 0; layer < info.numLayers; layer++) {
      for (const { location, site, enabled } of LOCATIONS) {
        if (!configs.every(enabled)) continue;
        const path = info.modulePath(site, layer);
        if (path === undefined) throw new CapabilityError('MISSING_MODULE_SITE', `AdapterFusion '${name}': the ${info.modelType} host has no '${site}' site in layer ${layer}`);
        layers.set(fusionLayerKey(location, layer), createFusionLayer(params, rng, `${path}.adapter_fusion_layer.${name}`, info.hiddenSize, config, dropout));
      }
    }
  } catch (err) {
    params.dispose();
    throw err;
  }
  return { fusion: { name, adapters: [...adapters], config, groupId: `fusion:${name}`, layers }, params };
}

/** The Fuse blocks of a setup. */
function fuseBlocks(node: SetupNode): CompositionBlock[] {
  if (typeof node === 'string') return [];
  return [...(node.type === 'Fuse' ? [node] : []), ...node.children.flatMap(fuseBlocks)];
}

/** Whether the model's active setup uses the fusion `name`. */
function fusionActive(model: AdapterModel, name: string): boolean {
  const active = model.activeAdapters;
  return active !== undefined && fuseBlocks(active).some((b) => fusionName(b) === name);
}

/**
 * Register a built fusion in `model` (its parameters become the model's parameter group `fusion:<name>`).
 * An existing fusion of the same name is replaced with `overwriteOk`, else an error.
 */
export function registerFusion(model: AdapterModel, built: BuiltFusion, options: AddAdapterFusionOptions = {}, setup?: CompositionBlock): string {
  const registry = fusionRegistry(model.info);
  const { fusion, params } = built;
  if (registry.get(fusion.name)) {
    if (!options.overwriteOk) {
      params.dispose();
      throw new AdapterStateError('FUSION_EXISTS', `An AdapterFusion '${fusion.name}' already exists (pass { overwriteOk: true } to replace it)`);
    }
    const active = fusionActive(model, fusion.name) ? model.activeAdapters : undefined;
    deleteAdapterFusion(model, fusion.name);
    model.addParamGroup(fusion.groupId, params);
    registry.set(fusion);
    if (active) model.setActiveAdapters(active);
  } else {
    model.addParamGroup(fusion.groupId, params);
    registry.set(fusion);
  }
  if (options.setActive) model.setActiveAdapters(setup ?? Fuse(...fusion.adapters));
  return fusion.name;
}

/**
 * Add an AdapterFusion layer over bottleneck adapters (the reference's `add_adapter_fusion`): `setup` is
 * `Fuse('a', 'b')`, `['a', 'b']` or `'a,b'`; `config` is `'dynamic'` (default), `'static'`, a config string such
 * as `'dynamic[temperature=True]'` or an object of fields. A layer is created at each layer and location
 * (`attention.output` / `ffn.output`) where every fused adapter has that location. The weights start frozen; use
 * {@link trainAdapterFusion} to train them. Returns the fusion's name (`'a,b'`).
 */
export function addAdapterFusion(model: AdapterModel, setup: FusionSetup, config: AdapterFusionConfigInput = 'dynamic', options: AddAdapterFusionOptions = {}): string {
  const built = buildFusion(model, fusionAdapters(setup), resolveFusionConfig(config), options.seed);
  return registerFusion(model, built, options, isBlock(setup) ? setup : undefined);
}

/** The fusion `setup` names, or an AdapterStateError listing the model's fusions. */
export function requireFusion(model: AdapterModel, setup: FusionSetup): Fusion {
  const registry = fusionRegistry(model.info);
  const name = fusionName(setup);
  const fusion = registry.get(name);
  if (!fusion) throw new AdapterStateError('NO_SUCH_FUSION', `No AdapterFusion '${name}' (have: ${registry.names().join('; ') || 'none'})`);
  return fusion;
}

/** Names of the model's fusions (`'a,b'`), in insertion order. */
export function adapterFusionNames(model: AdapterModel): string[] {
  return fusionRegistry(model.info).names();
}

/** A fusion's parameters under the reference's keys (`<module path>.adapter_fusion_layer.<a,b>.*`). */
export function adapterFusionParams(model: AdapterModel, setup: FusionSetup): readonly NamedParam[] {
  return model.paramGroup(requireFusion(model, setup).groupId)?.list() ?? [];
}

/** Remove a fusion and free its weights; an active setup using it is deactivated (as `deleteAdapter` does). */
export function deleteAdapterFusion(model: AdapterModel, setup: FusionSetup): void {
  const fusion = requireFusion(model, setup);
  if (fusionActive(model, fusion.name)) model.setActiveAdapters(null);
  fusionRegistry(model.info).delete(fusion.name);
  model.deleteParamGroup(fusion.groupId);
}

/** Options of {@link trainAdapterFusion}. */
export interface TrainAdapterFusionOptions {
  /** Also train the fused adapters (default false: only the fusion layers train). */
  readonly unfreezeAdapters?: boolean;
}

/**
 * Prepare to train the fusion layers of `setup` (the reference's `train_adapter_fusion`): activates the setup,
 * freezes the base model and every adapter and fusion, then makes the fusion layers of the setup's Fuse blocks
 * trainable — and with `unfreezeAdapters` the setup's adapters too (their adapter modules: as in the reference,
 * invertible adapters stay frozen).
 */
export function trainAdapterFusion(model: AdapterModel, setup: SetupNode | readonly string[], options: TrainAdapterFusionOptions = {}): void {
  const block = toSetup(setup as SetupNode);
  const fuses = fuseBlocks(block);
  if (fuses.length === 0) throw new AdapterStateError('NO_FUSE_BLOCK', 'trainAdapterFusion needs a setup with a Fuse block, e.g. Fuse(\'a\', \'b\')');
  const groups = new Set(fuses.map((f) => requireFusion(model, f).groupId));
  model.setActiveAdapters(block);
  model.freezeModel(true);
  const names = new Set(adapterNames(block));
  for (const a of model.adapterNames()) {
    const unfreeze = options.unfreezeAdapters === true && names.has(a);
    for (const p of model.adapterParams(a)) p.variable.trainable = unfreeze && !p.frozen && !p.key.startsWith('invertible_adapters.');
  }
  for (const id of model.paramGroupIds()) {
    for (const p of model.paramGroup(id)!.list()) p.variable.trainable = groups.has(id);
  }
}

/**
 * The reference's `get_fusion_regularization_loss`: 0.01 · Σ ‖I − W_v‖²_F over every fusion layer with a value
 * matrix (a scalar 0 when there is none). Add it to the training loss of dynamic fusions (`regularization: true`).
 * The caller owns the returned scalar.
 */
export function fusionRegularizationLoss(model: AdapterModel): tf.Scalar {
  const registry = fusionRegistry(model.info);
  const values = registry.names().flatMap((n) => [...registry.get(n)!.layers.values()].flatMap((l) => (l.value ? [l.value] : [])));
  return tf.tidy(() => {
    if (values.length === 0) return tf.scalar(0);
    const eye = tf.eye(model.info.hiddenSize);
    return tf.mul(tf.addN(values.map((w) => tf.sum(tf.square(tf.sub(eye, w))))), 0.01) as tf.Scalar;
  });
}

/**
 * Record the fusion attention probabilities of every forward from now on (`on = false` stops and clears), the
 * reference's `output_adapter_fusion_attentions=True`. Recording reads the probabilities back from the backend,
 * so leave it off when not needed. Read them with {@link getFusionAttentions}.
 */
export function outputFusionAttentions(model: AdapterModel, on = true): void {
  fusionRegistry(model.info).setRecordAttentions(on);
}

/**
 * Attention probabilities of the last forward (after {@link outputFusionAttentions}): fusion name → layer →
 * location (`mh_adapter` / `output_adapter`) → `[batch][seq][fused adapters]`.
 */
export function getFusionAttentions(model: AdapterModel): FusionAttentions {
  return fusionRegistry(model.info).attentions();
}
