import * as tf from '@tensorflow/tfjs-core';
import {
  defineAdapterMethod,
  init,
  type CreateContext,
  type Handler,
  type MethodInstance,
} from '@adapterkit/core';
import { adapterkit as packageAdapterkit, name as packageName, version as packageVersion } from '../package.json';
import { BITFIT, BITFIT_DEFAULTS, BITFIT_FIELDS, BITFIT_PRESETS, validateBitFitConfig, type BitFitConfig } from './config';
import { biasSites, type BiasSite, type BitFitPoint } from './sites';

/** Per hook point, the bias deltas of one layer by payload site (`query`, `qkv`, `intermediate`, ...). */
type LayerDeltas = Partial<Record<BitFitPoint, Map<string, () => tf.Tensor1D>>>;

/** `[3·hidden]` mask of a fused q/k/v delta: 1 on the thirds of selected sites, 0 elsewhere. */
function slotMask(slots: readonly boolean[], width: number): tf.Tensor1D {
  const third = width / slots.length;
  return tf.tensor1d(slots.flatMap((on) => new Array<number>(third).fill(on ? 1 : 0)));
}

/** Register the delta of one dense layer (zeros: the adapter starts as the identity) and return how to read it. */
function addDelta(ctx: CreateContext<BitFitConfig>, site: BiasSite, masks: tf.Tensor[]): () => tf.Tensor1D {
  const delta = ctx.params.add(`${site.modulePath}.bitfit.${ctx.name}.delta`, init.zeros([site.width])) as tf.Tensor as tf.Tensor1D;
  if (!site.slots || site.slots.every(Boolean)) return () => delta;
  const mask = slotMask(site.slots, site.width);
  masks.push(mask);
  return () => tf.mul(delta, mask);
}

/** A handler adding the layer's delta to the dense output `y` `[batch, seq, out]` before the rest of the chain. */
function shiftBias<P extends BitFitPoint>(deltas: ReadonlyMap<string, () => tf.Tensor1D>): Handler<P> {
  return (payload, next) => {
    const delta = deltas.get(payload.site);
    return delta ? next({ ...payload, y: tf.add(payload.y, delta()) as tf.Tensor3D }) : next(payload);
  };
}

function create(ctx: CreateContext<BitFitConfig>): MethodInstance {
  const { config, host } = ctx;
  const masks: tf.Tensor[] = [];
  const layers: LayerDeltas[] = [];
  try {
    for (let layer = 0; layer < host.numLayers; layer++) {
      if (config.leaveOut.includes(layer)) continue;
      const deltas: LayerDeltas = {};
      for (const site of biasSites(host, config.sites, layer)) {
        (deltas[site.point] ??= new Map()).set(site.payloadSite, addDelta(ctx, site, masks));
      }
      layers[layer] = deltas;
    }
  } catch (err) {
    tf.dispose(masks); // parameters registered so far are released by the model
    throw err;
  }
  const at =
    <P extends BitFitPoint>(point: P) =>
    (layer: number): Handler<P> | undefined => {
      const deltas = layers[layer]?.[point];
      return deltas ? shiftBias<P>(deltas) : undefined;
    };
  return {
    handlers: {
      'attention.projection': at('attention.projection'),
      'ffn.intermediate': at('ffn.intermediate'),
      'ffn.outputProjection': at('ffn.outputProjection'),
    },
    dispose: () => tf.dispose(masks),
  };
}

/**
 * BitFit (Ben Zaken et al., 2022) as an AdapterKit method: each selected dense layer (attention query/key/value,
 * FFN intermediate, FFN output) gets a learned bias delta `[out]`, zero at init, added to its output; only the deltas
 * train. Keys: `<module path>.bitfit.<adapter>.delta`, e.g. `encoder.layer.0.attention.self.query.bitfit.a.delta`
 * (GPT-2: one `[3·hidden]` delta on `h.<l>.attn.c_attn`). Several BitFit adapters in a Stack add their deltas.
 * Config names `bitfit`, `bitfit_attn`.
 */
export const bitfit = defineAdapterMethod<BitFitConfig>({
  name: BITFIT,
  architecture: BITFIT,
  fields: BITFIT_FIELDS,
  defaults: BITFIT_DEFAULTS,
  presets: BITFIT_PRESETS,
  validate: validateBitFitConfig,
  hooks: ['attention.projection', 'ffn.intermediate', 'ffn.outputProjection'],
  create,
  meta: { package: packageName, version: packageVersion, apiVersion: packageAdapterkit.methodApiVersion },
  description: 'BitFit: learned bias deltas of the attention and FFN dense layers',
});
