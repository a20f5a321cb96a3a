import {
  AdapterConfigError,
  CapabilityError,
  defineAdapterMethod,
  type CreateContext,
  type Handler,
  type MethodExtension,
} from '@adapterkit/core';
import packageJson from '../package.json';
import { BOTTLENECK_DEFAULTS, BOTTLENECK_FIELDS, BOTTLENECK_PRESETS, validateBottleneckConfig, type BottleneckConfig } from './config';
import {
  INVERTIBLE_POINT,
  PROJECTION_POINT,
  type AdapterProjections,
  type BottleneckLocation,
  type InvertibleAdapter,
  type InvertibleProvider,
  type ProjectionProvider,
} from './extensions';
import { BOTTLENECK_BLOCKS } from './compose';
import { fusionRegistry } from './fusion/registry';
import type { BottleneckInstance } from './instance';
import { beginForwardFor, invertibleHandler, type BottleneckForwardState } from './invertible';
import { createBottleneckModule } from './module';
import { bottleneckSize } from './reduction';
import { LOCATIONS, locationOf, sublayerHandler, type BottleneckModule } from './sublayer';

/** The installed extension filling `point`, or an error naming the package that provides it. */
function requireExtension<Impl>(ctx: CreateContext<BottleneckConfig>, point: string, field: string, pkg: string): Impl {
  const ext = ctx.extensions.get(point) as MethodExtension<Impl> | undefined;
  if (!ext) {
    throw new AdapterConfigError(
      'METHOD_NOT_INSTALLED',
      `Adapter '${ctx.name}': ${field} needs ${pkg} (it fills the bottleneck '${point}' extension point), which is not installed in this model; ` +
        `add its plugins to new AdapterModel(host, { methods: [...] })`,
    );
  }
  return ext.impl;
}

function create(ctx: CreateContext<BottleneckConfig>): BottleneckInstance {
  const { name, config, host, params, rng } = ctx;
  let projections: AdapterProjections | undefined;
  let invertible: InvertibleAdapter | undefined;
  const dispose = (): void => {
    projections?.dispose?.();
    invertible?.dispose?.();
  };
  try {
    if (config.phmLayer) {
      const provider = requireExtension<ProjectionProvider>(ctx, PROJECTION_POINT, 'phm_layer=True', '@adapterkit/compacter');
      projections = provider.forAdapter({ name, config, host, params, rng, sharedKeyPrefix: `shared_parameters.${name}` });
    }
    if (config.invAdapter !== null) {
      const provider = requireExtension<InvertibleProvider>(ctx, INVERTIBLE_POINT, `inv_adapter='${config.invAdapter}'`, '@adapterkit/invertible');
      if (!host.hookPoints.has('embeddings.output')) {
        throw new CapabilityError('MISSING_HOOK_POINT', `Adapter '${name}': inv_adapter needs hook point embeddings.output, which the ${host.modelType} host does not provide`);
      }
      invertible = provider.create({ name, config, host, params, rng, keyPrefix: `invertible_adapters.${name}` });
    }

    const modules: Record<BottleneckLocation, Array<BottleneckModule | undefined>> = { mh_adapter: [], output_adapter: [] };
    const handlers = {
      mh_adapter: [] as Array<Handler<'attention.output', BottleneckForwardState> | undefined>,
      output_adapter: [] as Array<Handler<'ffn.output', BottleneckForwardState> | undefined>,
    };
    for (let layer = 0; layer < host.numLayers; layer++) {
      if (config.leaveOut.includes(layer)) continue;
      for (const { location, site, enabled } of LOCATIONS) {
        if (!enabled(config)) continue;
        const path = host.modulePath(site, layer);
        if (path === undefined) {
          throw new CapabilityError('MISSING_MODULE_SITE', `Adapter '${name}': the ${host.modelType} host has no '${site}' site in layer ${layer} for the ${location}`);
        }
        const forward = createBottleneckModule({
          config,
          host,
          params,
          rng,
          layer,
          location,
          keyPrefix: `${path}.adapters.${name}`,
          size: bottleneckSize(host.hiddenSize, config.reductionFactor, layer),
          ...(projections ? { projections } : {}),
        });
        const module: BottleneckModule = { config, forward };
        modules[location][layer] = module;
        if (location === 'mh_adapter') handlers.mh_adapter[layer] = sublayerHandler<'attention.output'>(module);
        else handlers.output_adapter[layer] = sublayerHandler<'ffn.output'>(module);
      }
    }

    const embeddings = invertible && invertibleHandler<'embeddings.output'>(invertible, 'forward');
    const head = invertible && invertibleHandler<'head.input'>(invertible, 'inverse');
    return {
      kind: 'adapterkit.bottleneck',
      adapterName: name,
      config,
      fusions: fusionRegistry(host),
      module: (point, layer) => modules[locationOf(point)][layer],
      handlers: {
        'attention.output': (layer) => handlers.mh_adapter[layer],
        'ffn.output': (layer) => handlers.output_adapter[layer],
        'embeddings.output': (layer) => (layer === -1 ? embeddings : undefined),
        'head.input': (layer) => (layer === -1 ? head : undefined),
      },
      beginForward: beginForwardFor(name),
      dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * The bottleneck adapter method: sequential (Pfeiffer, Houlsby) and parallel (He et al.) bottleneck adapters of
 * adapter-transformers 3.2.1, with the `adapters` additions (`scaling='channel'`, `residual_before_ln='post_add'`,
 * `init_weights='houlsby'`, `dropout`). Config names: `bottleneck`, `pfeiffer`/`seq_bn`, `houlsby`/`double_seq_bn`,
 * `parallel`/`par_bn`, `scaled_parallel`/`scaled_par_bn`. Extension points: `projection` (PHM layers,
 * `@adapterkit/compacter`) and `invertible` (NICE/GLOW, `@adapterkit/invertible`).
 */
export const bottleneck = defineAdapterMethod<BottleneckConfig, BottleneckForwardState>({
  name: 'bottleneck',
  architecture: null,
  fields: BOTTLENECK_FIELDS,
  defaults: BOTTLENECK_DEFAULTS,
  presets: BOTTLENECK_PRESETS,
  validate: validateBottleneckConfig,
  hooks: ['attention.output', 'ffn.output'],
  extensionPoints: [PROJECTION_POINT, INVERTIBLE_POINT],
  blocks: BOTTLENECK_BLOCKS,
  create,
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
  description: 'Sequential and parallel bottleneck adapters (Pfeiffer, Houlsby, Parallel)',
});
