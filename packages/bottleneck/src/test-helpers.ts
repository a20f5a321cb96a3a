/**
 * Helpers shared by this package's tests: golden fixture paths, a one-layer host for hand computations, and a
 * test-only NICE provider that exercises the `invertible` extension contract. Not exported from the index.
 * @internal
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  addAndNorm,
  AdapterModel,
  getActivation,
  init,
  layerNorm,
  linear,
  Rng,
  type HookPoint,
  type HostInfo,
  type MethodExtension,
  type ModelInputs,
  type ParamCollector,
  type TransformerHost,
} from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { afterEach } from 'vitest';
import { defineInvertibleExtension, defineProjectionExtension, type InvertibleProvider, type ProjectionProvider } from './extensions';
import { plugins } from './index';
import { pyFloorDiv } from './reduction';

export const GOLDEN_DIR = fileURLToPath(new URL('../../../fixtures/golden/', import.meta.url));

export function caseDir(model: string, name: string): string {
  return `${GOLDEN_DIR}cases/${model}/${name}`;
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** An AdapterModel over a golden base model with this package's plugins (plus `extra`). */
export async function goldenModel(model: 'bert' | 'gpt2', extra: readonly MethodExtension[] = []): Promise<AdapterModel> {
  const host = await loadHost(`${GOLDEN_DIR}models/${model}`);
  return new AdapterModel(host, { methods: [...plugins, ...extra], warn: () => undefined });
}

/** Integer token ids `[batch, seq]` below `vocab`. */
export function tokenIds(batch: number, seq: number, vocab: number, seed = 3): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(
    Array.from({ length: batch * seq }, () => Math.floor(rng.next() * vocab)),
    [batch, seq],
    'int32',
  );
}

/**
 * A one-layer post-LN host: x = E[ids]; h = tanh(x·W); y = hooks `ffn.output` {hidden: h, residual: x, LN}.
 * `reference` recomputes x, h and the LN for hand calculations.
 */
export function createOneLayerHost(seed = 7): {
  host: TransformerHost;
  embed: (ids: tf.Tensor2D) => tf.Tensor3D;
  sublayer: (x: tf.Tensor3D) => tf.Tensor3D;
  ln: (x: tf.Tensor) => tf.Tensor;
} {
  const H = 8;
  const V = 16;
  const rng = new Rng(seed);
  const params = new Map<string, tf.Variable>();
  const add = (name: string, t: tf.Tensor): tf.Variable => {
    const v = tf.variable(t, true, `one-layer-${seed}-${params.size}-${Math.random()}`);
    t.dispose();
    params.set(name, v);
    return v;
  };
  const emb = add('embeddings.weight', init.normal(rng, [V, H], 0.5));
  const w = add('layer.0.dense.weight', init.normal(rng, [H, H], 0.5)) as tf.Tensor2D;
  const gamma = add('layer.0.LayerNorm.weight', init.normal(rng, [H], 0.1, 1)) as tf.Tensor1D;
  const beta = add('layer.0.LayerNorm.bias', init.normal(rng, [H], 0.1)) as tf.Tensor1D;
  const ln = (t: tf.Tensor): tf.Tensor => layerNorm(t, gamma, beta, 1e-12);
  const embed = (ids: tf.Tensor2D): tf.Tensor3D => tf.gather(emb, ids) as tf.Tensor3D;
  const sublayer = (x: tf.Tensor3D): tf.Tensor3D => tf.tanh(linear(x, w)) as tf.Tensor3D;
  const points: HookPoint[] = ['embeddings.output', 'attention.output', 'ffn.output'];
  const info: HostInfo = {
    modelType: 'one-layer',
    modelClass: 'OneLayerModel',
    hiddenSize: H,
    numLayers: 1,
    numHeads: 1,
    headDim: H,
    intermediateSize: H,
    vocabSize: V,
    baseModelPrefix: 'one',
    hookPoints: new Set(points),
    numParameters: [...params.values()].reduce((n, v) => n + v.size, 0),
    modulePath: (site, layer) => (layer === 0 && site === 'ffn.output' ? 'layer.0.output' : layer === 0 && site === 'attention.output' ? 'layer.0.attention.output' : undefined),
  };
  const host: TransformerHost = {
    info,
    parameters: params,
    wordEmbeddings: emb,
    forward(inputs: ModelInputs, hooks) {
      const x = hooks.run('embeddings.output', -1, embed(inputs.inputIds), (e) => e);
      return { lastHiddenState: hooks.run('ffn.output', 0, { hidden: sublayer(x), residual: x, layerNorm: ln }, addAndNorm) };
    },
    dispose() {
      for (const v of params.values()) v.dispose();
    },
  };
  return { host, embed, sublayer, ln };
}

/** Add a Linear `[in, out]` under `key` (N(0, 0.02)), returning `x ↦ x·W + b`. */
function testLinear(params: ParamCollector, rng: Rng, key: string, inF: number, outF: number): (x: tf.Tensor) => tf.Tensor {
  const w = params.add(`${key}.weight`, init.normal(rng, [inF, outF], 0.02), { layout: 'linear' }) as tf.Tensor2D;
  const b = params.add(`${key}.bias`, init.zeros([outF])) as tf.Tensor1D;
  return (x) => linear(x, w, b);
}

/**
 * Test-only NICE coupling block (reference §3.4) behind the `invertible` contract, so the contract, key names and
 * the first-adapter rule can be checked against the golden `pfeiffer_inv` and `comp_stack` cases without
 * `@adapterkit/invertible`.
 */
const testNice: InvertibleProvider = {
  create({ config, host, params, rng, keyPrefix }) {
    const H = host.hiddenSize;
    const c1 = Math.floor(H / 2);
    const c2 = H - c1;
    const act = getActivation(config.nonLinearity);
    const rf = config.invAdapterReductionFactor ?? 2;
    const subnet = (name: string, inF: number, outF: number): ((x: tf.Tensor) => tf.Tensor) => {
      const mid = pyFloorDiv(inF, rf);
      const l0 = testLinear(params, rng, `${keyPrefix}.${name}.0`, inF, mid);
      const l2 = testLinear(params, rng, `${keyPrefix}.${name}.2`, mid, outF);
      return (x) => l2(act(l0(x)));
    };
    const F = subnet('F', c2, c1);
    const G = subnet('G', c1, c2);
    const split = (x: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] => tf.split(x, [c1, c2], 2) as [tf.Tensor3D, tf.Tensor3D];
    return {
      forward(x) {
        const [x1, x2] = split(x);
        const y1 = tf.add(x1, F(x2));
        return tf.concat([y1, tf.add(x2, G(y1))], 2) as tf.Tensor3D;
      },
      inverse(y) {
        const [y1, y2] = split(y);
        const x2 = tf.sub(y2, G(y1));
        return tf.concat([tf.sub(y1, F(x2)), x2], 2) as tf.Tensor3D;
      },
    };
  },
};

/** The test NICE extension. */
export const testNiceExtension = defineInvertibleExtension({
  name: 'test-nice',
  impl: testNice,
  meta: { package: '@adapterkit/bottleneck-test', version: '0.0.0', apiVersion: 1 },
});

/**
 * Test-only PHM projection (reference §3.6), default variant only (factorised W of rank k, one rule shared by
 * every layer and both projections): y = x·H + b with H = Σ_i S_i ⊗ (L_i R_i). Checks the `projection` contract
 * (keys, shared parameters registered once) against the golden `compacter_rf8` / `compacter_pp_rf8` cases.
 */
const testPhm: ProjectionProvider = {
  forAdapter({ config, params, rng, sharedKeyPrefix }) {
    const n = config.phmDim;
    const k = config.phmRank ?? 1;
    if (!config.factorizedPhmW || !config.sharedPhmRule || config.sharedWPhm || config.factorizedPhmRule) {
      throw new Error('the test PHM provider implements only factorised W with a shared, non-factorised rule');
    }
    const rule = params.add(`${sharedKeyPrefix}.phm_rule`, init.normal(rng, [n, n, n], config.phmInitRange ?? 1e-4), { optional: true });
    return {
      create({ inFeatures, outFeatures, keyPrefix }) {
        const a = inFeatures / n;
        const b = outFeatures / n;
        const left = params.add(`${keyPrefix}.W_left`, init.xavierNormal(rng, [n, a, k], a, k));
        const right = params.add(`${keyPrefix}.W_right`, init.xavierNormal(rng, [n, k, b], k, b));
        const bias = params.add(`${keyPrefix}.b`, init.zeros([outFeatures])) as tf.Tensor1D;
        return (x) => {
          const w = tf.matMul(left as tf.Tensor3D, right as tf.Tensor3D); // [n, a, b]
          // Σ_i S_i ⊗ W_i: [n, p, 1, q, 1] · [n, 1, a, 1, b] summed over i → [p·a, q·b]
          const kron = tf.sum(tf.mul(tf.reshape(rule, [n, n, 1, n, 1]), tf.reshape(w, [n, 1, a, 1, b])), 0);
          return linear(x, tf.reshape(kron, [inFeatures, outFeatures]) as tf.Tensor2D, bias);
        };
      },
    };
  },
};

/** The test PHM extension. */
export const testPhmExtension = defineProjectionExtension({
  name: 'test-phm',
  impl: testPhm,
  meta: { package: '@adapterkit/bottleneck-test', version: '0.0.0', apiVersion: 1 },
});

/**
 * Per-test cleanup for a test file (call at the top level): models pushed to `owned` and tensors pushed to `tensors`
 * (or passed through `keep`) are freed after each test.
 */
export function disposeAfterEach(): { owned: AdapterModel[]; tensors: tf.Tensor[]; keep: <T extends tf.Tensor>(t: T) => T } {
  const owned: AdapterModel[] = [];
  const tensors: tf.Tensor[] = [];
  afterEach(() => {
    owned.splice(0).forEach((m) => m.dispose());
    tf.dispose(tensors.splice(0));
  });
  return {
    owned,
    tensors,
    keep: <T extends tf.Tensor>(t: T): T => {
      tensors.push(t);
      return t;
    },
  };
}
