import * as tf from '@tensorflow/tfjs-core';
import { addAndNorm } from '../hooks/sublayer';
import type { HookPoint, HookRunner } from '../hooks/points';
import { defineAdapterMethod, type AdapterConfigBase } from '../method/define';
import type { HostInfo, ModelInputs, ModelOutputs, TransformerHost } from '../model/host';
import { layerNorm, linear } from '../nn/ops';

/**
 * A toy 2-layer post-LN host for core's own tests (no attention): embeddings → per layer
 * `attention.output` (dense + add&norm) and `ffn.output` (dense + add&norm). Hidden size 8, vocab 16.
 */
export function createToyHost(seed = 1, points: readonly HookPoint[] = ['embeddings.output', 'attention.output', 'ffn.output', 'head.input']): TransformerHost {
  const H = 8;
  const L = 2;
  const V = 16;
  const params = new Map<string, tf.Variable>();
  let s = seed;
  const rand = (shape: number[]): tf.Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      d[i] = (s / 2147483648 - 0.5) * 0.4;
    }
    return tf.tensor(d, shape);
  };
  const add = (name: string, t: tf.Tensor): tf.Variable => {
    const v = tf.variable(t, true, `toy${seed}-${Math.random()}/${name}`);
    t.dispose();
    params.set(name, v);
    return v;
  };
  const emb = add('embeddings.word_embeddings.weight', rand([V, H]));
  const layers = Array.from({ length: L }, (_, i) => ({
    aW: add(`encoder.layer.${i}.attention.output.dense.weight`, rand([H, H])),
    aLn: add(`encoder.layer.${i}.attention.output.LayerNorm.weight`, tf.ones([H])),
    aLb: add(`encoder.layer.${i}.attention.output.LayerNorm.bias`, tf.zeros([H])),
    fW: add(`encoder.layer.${i}.output.dense.weight`, rand([H, H])),
    fLn: add(`encoder.layer.${i}.output.LayerNorm.weight`, tf.ones([H])),
    fLb: add(`encoder.layer.${i}.output.LayerNorm.bias`, tf.zeros([H])),
  }));
  const numParameters = [...params.values()].reduce((n, v) => n + v.size, 0);
  const info: HostInfo = {
    modelType: 'toy',
    modelClass: 'ToyModel',
    hiddenSize: H,
    numLayers: L,
    numHeads: 1,
    headDim: H,
    intermediateSize: H,
    vocabSize: V,
    baseModelPrefix: 'toy',
    hookPoints: new Set(points),
    numParameters,
    modulePath: (site, layer) =>
      site === 'attention.output' ? `encoder.layer.${layer}.attention.output` : site === 'ffn.output' ? `encoder.layer.${layer}.output` : undefined,
  };
  return {
    info,
    parameters: params,
    wordEmbeddings: emb,
    forward(inputs: ModelInputs, hooks: HookRunner, options): ModelOutputs {
      let x = tf.gather(emb, inputs.inputIds) as tf.Tensor3D;
      if (info.hookPoints.has('embeddings.output')) x = hooks.run('embeddings.output', -1, x, (h) => h);
      layers.forEach((l, i) => {
        const a = tf.tanh(linear(x, l.aW as tf.Tensor2D)) as tf.Tensor3D;
        const ln1 = (t: tf.Tensor): tf.Tensor => layerNorm(t, l.aLn as tf.Tensor1D, l.aLb as tf.Tensor1D, 1e-12);
        x = hooks.run('attention.output', i, { hidden: a, residual: x, layerNorm: ln1 }, addAndNorm);
        const f = linear(x, l.fW as tf.Tensor2D);
        const ln2 = (t: tf.Tensor): tf.Tensor => layerNorm(t, l.fLn as tf.Tensor1D, l.fLb as tf.Tensor1D, 1e-12);
        x = hooks.run('ffn.output', i, { hidden: f, residual: x, layerNorm: ln2 }, addAndNorm);
      });
      if (!options.lmLogits) return { lastHiddenState: x };
      const h = hooks.run('head.input', -1, x, (t) => t);
      return { lastHiddenState: x, logits: linear(h, tf.transpose(emb) as tf.Tensor2D) };
    },
    dispose() {
      for (const v of params.values()) v.dispose();
    },
  };
}

/** Config of the toy `scale` method: multiplies the sub-layer output by a learned vector. */
export interface ToyScaleConfig extends AdapterConfigBase {
  readonly method: 'toy-scale';
  readonly init: number;
  readonly onAttention: boolean;
  readonly tag: string;
}

/** A toy method for core's tests: scales `hidden` at `ffn.output` (and `attention.output` if enabled) and records calls. */
export function createToyScaleMethod(calls: string[] = []) {
  return defineAdapterMethod<ToyScaleConfig>({
    name: 'toy-scale',
    architecture: 'toy_scale',
    fields: { init: { type: 'float' }, onAttention: { type: 'bool' }, tag: { type: 'string' } },
    defaults: { init: 1.0, onAttention: false, tag: 'x' },
    presets: { toy: {}, toy_big: { init: 2.0 } },
    hooks: ['ffn.output', 'attention.output'],
    meta: { package: '@adapterkit/core-test', version: '0.0.0', apiVersion: 1 },
    create({ name, config, host, params }) {
      const scales = Array.from({ length: host.numLayers }, (_, i) =>
        params.add(`${host.modulePath('ffn.output', i)}.toy.${name}.scale`, tf.fill([host.hiddenSize], config.init)),
      );
      const handler = (point: string) => (layer: number) => {
        if (point === 'attention.output' && !config.onAttention) return undefined;
        return (p: { hidden: tf.Tensor3D }, next: (p: never) => tf.Tensor3D) => {
          calls.push(`${name}:${point}:${layer}`);
          return next({ ...p, hidden: tf.mul(p.hidden, scales[layer]!) } as never);
        };
      };
      return { handlers: { 'ffn.output': handler('ffn.output'), 'attention.output': handler('attention.output') } as never };
    },
  });
}
