import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { NO_HOOKS, type ModelInputs } from './core';
import { createHost, loadHost, parseConfig } from './index';
import { maxAbsDiff, readTensors } from './test-helpers';

const NEXT = fileURLToPath(new URL('../../../fixtures/golden-next/', import.meta.url));
const TOL = 1e-4;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function inputsOf(model: string): ModelInputs {
  const all = JSON.parse(readFileSync(join(NEXT, 'inputs.json'), 'utf8')) as Record<string, { input_ids: number[][]; attention_mask: number[][] }>;
  const e = all[model]!;
  return { inputIds: tf.tensor2d(e.input_ids, undefined, 'int32'), attentionMask: tf.tensor2d(e.attention_mask, undefined, 'int32') };
}

const CASES = [
  { model: 'distilbert', decoder: false, prefix: '', embeddings: 'embeddings.word_embeddings.weight' },
  { model: 'llama', decoder: true, prefix: 'model.', embeddings: 'embed_tokens.weight' },
  { model: 'qwen2', decoder: true, prefix: 'model.', embeddings: 'embed_tokens.weight' },
] as const;

describe.each(CASES)('$model base (golden-next)', ({ model, decoder, prefix, embeddings }) => {
  it('matches the reference outputs within 1e-4 and round-trips its weights', async () => {
    const before = tf.memory().numTensors;
    const dir = join(NEXT, 'models', model);
    const host = await loadHost(dir);
    expect(host.notes).toEqual([]);
    expect(host.info.isDecoder).toBe(decoder);
    expect(host.wordEmbeddings).toBe(host.parameters.get(embeddings));
    const inputs = inputsOf(model);
    const ref = await readTensors(join(NEXT, 'cases', model, 'base', 'output.safetensors'));
    const out = host.forward(inputs, NO_HOOKS, { training: false, lmLogits: decoder });
    expect(maxAbsDiff(out.lastHiddenState, ref.get('last_hidden_state')!)).toBeLessThanOrEqual(TOL);
    if (decoder) expect(maxAbsDiff(out.logits!, ref.get('logits')!)).toBeLessThanOrEqual(TOL);
    else expect(out.logits).toBeUndefined();

    // every file tensor is a parameter; exportWeights with the HF prefix gives the file back exactly
    const file = await readTensors(join(dir, 'model.safetensors'));
    const exported = host.exportWeights(prefix);
    expect(new Set(exported.keys())).toEqual(new Set(file.keys()));
    for (const [k, t] of exported) expect(maxAbsDiff(t, file.get(k)!), k).toBe(0);
    let total = 0;
    for (const t of file.values()) total += t.size;
    expect(host.info.numParameters).toBe(total);
    const again = createHost(host.config, exported);
    const b = tf.tidy(() => again.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    expect(maxAbsDiff(out.lastHiddenState, b)).toBe(0);

    tf.dispose([out.lastHiddenState, out.logits, b, ...ref.values(), ...file.values(), ...exported.values(), inputs.inputIds, inputs.attentionMask].filter((t): t is tf.Tensor => t !== undefined));
    again.dispose();
    host.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('host descriptions', () => {
  it('llama: GQA shapes, LoRA sites on down_proj (intermediate) and up_proj (output), PEFT-style paths', async () => {
    const host = await loadHost(join(NEXT, 'models', 'llama'));
    const i = host.info;
    expect([i.numHeads, i.numKeyValueHeads, i.headDim, i.baseModelPrefix, i.modelClass]).toEqual([4, 2, 8, 'model', 'LlamaForCausalLM']);
    expect(i.modulePath('attention.key', 1)).toBe('layers.1.self_attn.k_proj');
    expect(i.moduleShape!('attention.key', 1)).toEqual({ inDim: 32, outDim: 16 });
    expect(i.moduleShape!('attention.query', 1)).toEqual({ inDim: 32, outDim: 32 });
    expect([i.modulePath('ffn.intermediate', 0), i.moduleShape!('ffn.intermediate', 0)]).toEqual(['layers.0.mlp.down_proj', { inDim: 64, outDim: 32 }]);
    expect([i.modulePath('ffn.outputProjection', 0), i.moduleShape!('ffn.outputProjection', 0)]).toEqual(['layers.0.mlp.up_proj', { inDim: 32, outDim: 64 }]);
    expect(i.modulePath('attention.qkv', 0)).toBeUndefined();
    expect(i.moduleShape!('attention.key', 2)).toBeUndefined();
    expect(i.weightLayout).toBe('linear');
    host.dispose();
  });

  it('distilbert: the reference paths and prefix location key', async () => {
    const host = await loadHost(join(NEXT, 'models', 'distilbert'));
    const i = host.info;
    expect(i.modulePath('attention.value', 0)).toBe('transformer.layer.0.attention.v_lin');
    expect(i.modulePath('ffn.output', 1)).toBe('transformer.layer.1.output_adapters');
    expect(i.selfPrefixKey).toBe('self');
    expect(i.isDecoder).toBe(false);
    host.dispose();
  });

  it('rejects configs it cannot run, naming the key', () => {
    const llama = JSON.parse(readFileSync(join(NEXT, 'models', 'llama', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(() => parseConfig({ ...llama, rope_scaling: { rope_type: 'yarn', factor: 2 } }, 'c.json')).toThrow(/rope_scaling.*yarn.*not supported/);
    expect(() => parseConfig({ ...llama, num_key_value_heads: 3 }, 'c.json')).toThrow(/num_attention_heads 4 is not a multiple of num_key_value_heads 3/);
    expect(() => parseConfig({ ...llama, mlp_bias: true }, 'c.json')).toThrow(/mlp_bias/);
    expect(parseConfig({ ...llama, rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }).ropeScaling).toEqual({
      type: 'llama3',
      factor: 32,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    });
  });
});

describe('llama position ids', () => {
  it('explicit per-row position ids equal the default arange, also under a replicating (Parallel-style) embeddings hook', async () => {
    const host = await loadHost(join(NEXT, 'models', 'llama'));
    const inputs = inputsOf('llama');
    const positionIds = tf.tensor2d([Array.from({ length: 12 }, (_, i) => i), Array.from({ length: 12 }, (_, i) => i)], [2, 12], 'int32');
    const a = host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState;
    const b = host.forward({ ...inputs, positionIds }, NO_HOOKS, { training: false }).lastHiddenState;
    expect(maxAbsDiff(a, b)).toBe(0);
    const twice = {
      run: (point: string, _layer: number, payload: unknown, terminal: (p: unknown) => unknown) =>
        point === 'embeddings.output' ? terminal(tf.concat([payload as tf.Tensor3D, payload as tf.Tensor3D], 0)) : terminal(payload),
    } as unknown as typeof NO_HOOKS;
    const c = host.forward({ ...inputs, positionIds }, twice, { training: false }).lastHiddenState;
    expect(c.shape).toEqual([4, 12, 32]);
    expect(tf.tidy(() => maxAbsDiff(tf.slice(c, [2, 0, 0], [2, 12, 32]), a))).toBeLessThan(1e-6);
    tf.dispose([a, b, c, positionIds, inputs.inputIds, inputs.attentionMask!]);
    host.dispose();
  });
});
