import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASK_NEGATIVE, NO_HOOKS, type HookRunner, type KeyValuePayload, type ModelInputs } from './core';
import { BERT_HOOK_POINTS, GPT2_HOOK_POINTS, loadHost, type ModelHost } from './index';
import { disposeInputs, disposeOutputs, tidyForward, goldenInputs, maxAbsDiff, modelDir, RecordingRunner, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const MODELS: GoldenModel[] = ['bert', 'roberta', 'gpt2'];

describe.each(MODELS)('%s hooks', (model) => {
  let host: ModelHost;
  let inputs: ModelInputs;
  beforeAll(async () => {
    host = await loadHost(modelDir(model));
    inputs = await goldenInputs(model);
  });
  afterAll(() => {
    disposeInputs(inputs);
    host.dispose();
  });

  it('calls every advertised point for every layer, in forward order', () => {
    const rec = new RecordingRunner();
    const lm = model === 'gpt2';
    disposeOutputs(tidyForward(host, inputs, rec, { training: false, lmLogits: lm }));
    const L = host.info.numLayers;
    // The golden bert/roberta checkpoints have a pooler, so they also advertise (and call) pooler.projection.
    const expectedPoints = lm ? GPT2_HOOK_POINTS : [...BERT_HOOK_POINTS, 'pooler.projection' as const];
    expect(new Set(host.info.hookPoints)).toEqual(new Set(expectedPoints));
    // GPT-2 advertises head.input for flex LM heads (AdapterModel.runHook); its static LM head does not run it
    expect(new Set(rec.calls.map((c) => c.point))).toEqual(new Set(expectedPoints.filter((p) => !(lm && p === 'head.input'))));
    expect(host.info.hookPlacement?.staticHeadInverse ?? true).toBe(!lm);
    expect(host.info.hookPlacement?.embeddings ?? 'summed').toBe(lm ? 'token' : 'summed');

    const perLayer =
      model === 'gpt2'
        ? ['attention.projection:qkv', 'attention.kv', 'attention.outputProjection:attention_output', 'attention.output', 'ffn.intermediate:intermediate', 'ffn.outputProjection:output', 'ffn.output', 'layer.output']
        : [
            'attention.projection:query',
            'attention.projection:key',
            'attention.projection:value',
            'attention.kv',
            'attention.outputProjection:attention_output',
            'attention.output',
            'ffn.intermediate:intermediate',
            'ffn.outputProjection:output',
            'ffn.output',
            'layer.output',
          ];
    const expected = ['embeddings.output@-1'];
    for (let i = 0; i < L; i++) for (const p of perLayer) expected.push(`${p}@${i}`);
    if (!lm) expected.push('pooler.projection:pooler@-1');
    expect(rec.calls.map((c) => `${c.point}${c.site ? `:${c.site}` : ''}@${c.layer}`)).toEqual(expected);
  });

  it('module paths follow the reference library', () => {
    const mp = host.info.modulePath;
    if (model === 'gpt2') {
      expect(mp('attention.self', 1)).toBe('h.1.attn');
      expect(mp('attention.qkv', 1)).toBe('h.1.attn.c_attn');
      expect(mp('attention.query', 1)).toBeUndefined();
      expect(mp('attention.output', 0)).toBe('h.0.attention_adapters');
      expect(mp('ffn.intermediate', 0)).toBe('h.0.mlp.c_fc');
      expect(mp('ffn.outputProjection', 0)).toBe('h.0.mlp.c_proj');
      expect(mp('ffn.output', 1)).toBe('h.1.output_adapters');
      expect(host.info.baseModelPrefix).toBe('transformer');
      expect(host.info.modelClass).toBe('GPT2Model');
    } else {
      expect(mp('attention.self', 1)).toBe('encoder.layer.1.attention.self');
      expect(mp('attention.query', 0)).toBe('encoder.layer.0.attention.self.query');
      expect(mp('attention.key', 0)).toBe('encoder.layer.0.attention.self.key');
      expect(mp('attention.value', 0)).toBe('encoder.layer.0.attention.self.value');
      expect(mp('attention.qkv', 0)).toBeUndefined();
      expect(mp('attention.output', 1)).toBe('encoder.layer.1.attention.output');
      expect(mp('ffn.intermediate', 1)).toBe('encoder.layer.1.intermediate.dense');
      expect(mp('ffn.outputProjection', 1)).toBe('encoder.layer.1.output.dense');
      expect(mp('ffn.output', 1)).toBe('encoder.layer.1.output');
      expect(host.info.baseModelPrefix).toBe(model);
      expect(host.info.modelClass).toBe(model === 'bert' ? 'BertModel' : 'RobertaModel');
    }
    expect(mp('ffn.output', host.info.numLayers)).toBeUndefined();
    expect(host.info.headDim).toBe(8);
  });

  /** A kv hook that prepends `p` random keys/values with the given additive mask value. */
  const prefixRunner = (p: number, maskValue: number): HookRunner => ({
    run: (point, layer, payload, terminal) => {
      if (point !== 'attention.kv') return terminal(payload);
      const { key, value, mask } = payload as KeyValuePayload;
      const [b, n, , d] = key.shape;
      const pk = tf.randomNormal([b, n, p, d], 0, 1, 'float32', 7 + layer);
      const pv = tf.randomNormal([b, n, p, d], 0, 1, 'float32', 11 + layer);
      const pm = tf.fill([b, 1, 1, p], maskValue);
      return terminal({
        key: tf.concat([pk, key], 2),
        value: tf.concat([pv, value], 2),
        mask: tf.concat([pm, mask], 3),
      } as never);
    },
  });

  it('attention uses the keys/values/mask returned by attention.kv (prefix keys, causal offset)', () => {
    const base = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    // masked-out prefix: same result (for GPT-2 this also checks that the causal mask is offset by Sk - Sq)
    const hidden = tf.tidy(() => host.forward(inputs, prefixRunner(5, MASK_NEGATIVE), { training: false }).lastHiddenState);
    expect(maxAbsDiff(base, hidden)).toBeLessThan(1e-5);
    // visible prefix: changes every position, including query 0 (prefix visible to every query)
    const visible = tf.tidy(() => host.forward(inputs, prefixRunner(5, 0), { training: false }).lastHiddenState);
    expect(visible.shape).toEqual(base.shape);
    const firstDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(visible, [0, 0, 0], [2, 1, -1]), tf.slice(base, [0, 0, 0], [2, 1, -1])))).dataSync()[0]!);
    expect(firstDiff).toBeGreaterThan(1e-3);
    tf.dispose([base, hidden, visible]);
  });

  it('sub-layer points get the LayerNorm on post-LN hosts only', () => {
    const seen: Array<boolean> = [];
    const runner: HookRunner = {
      run: (point, _layer, payload, terminal) => {
        if (point === 'attention.output' || point === 'ffn.output') seen.push(typeof (payload as { layerNorm?: unknown }).layerNorm === 'function');
        return terminal(payload);
      },
    };
    tf.dispose(tf.tidy(() => host.forward(inputs, runner, { training: false }).lastHiddenState));
    expect(seen).toHaveLength(2 * host.info.numLayers);
    expect(seen.every((s) => s === (model !== 'gpt2'))).toBe(true);
  });

  it('a replicated batch (Parallel composition) gets a tiled mask', () => {
    // duplicate the batch at the first attention.output: rows 2-3 must equal rows 0-1
    const runner: HookRunner = {
      run: (point, layer, payload, terminal) => {
        const out = terminal(payload);
        if (point === 'attention.output' && layer === 0) return tf.concat([out as tf.Tensor3D, out as tf.Tensor3D], 0) as never;
        return out;
      },
    };
    const base = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    const rep = tf.tidy(() => host.forward(inputs, runner, { training: false }).lastHiddenState);
    expect(rep.shape[0]).toBe(4);
    const d = tf.tidy(() => maxAbsDiff(tf.slice(rep, [2, 0, 0], [2, -1, -1]), base));
    expect(d).toBeLessThan(1e-5);
    tf.dispose([base, rep]);
  });
});
