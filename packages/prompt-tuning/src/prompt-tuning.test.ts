import '@tensorflow/tfjs-backend-cpu';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, CapabilityError, registerTrainingSupport, Stack } from '@adapterkit/core';
import { initHost, loadHost } from '@adapterkit/models';
import { goldenInputs, maxAbsDiff, readTensors } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combinePrompt, plugins, PromptTuningConfig, promptKey } from './index';

const GOLDEN_NEXT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/golden-next');
const CASE = join(GOLDEN_NEXT, 'cases/bert_v1/prompt_tuning');

describe('prompt tuning on bert_v1 (adapters 1.1 parity)', () => {
  let model: AdapterModel;
  beforeAll(async () => {
    model = new AdapterModel(await loadHost(join(GOLDEN_NEXT, 'models/bert_v1')), { methods: [...plugins] });
  });
  afterAll(() => model.dispose());

  it('loads the reference files and reproduces its 17-position outputs and pooler of the first prompt vector', async () => {
    const name = await model.loadAdapter(CASE, { setActive: true });
    expect(name).toBe('prompt_tuning');
    expect(model.adapterParams(name).map((p) => [p.key, p.variable.shape])).toEqual([[promptKey('prompt_tuning'), [5, 32]]]);
    const inputs = goldenInputs(GOLDEN_NEXT, 'bert_v1');
    const ref = await readTensors(join(CASE, 'output.safetensors'));
    const out = model.forward(inputs);
    expect(out.lastHiddenState.shape).toEqual([2, 17, 32]);
    expect(maxAbsDiff(out.lastHiddenState, ref.get('last_hidden_state')!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.poolerOutput!, ref.get('pooler_output')!)).toBeLessThan(1e-5);
    tf.dispose([...ref.values(), out.lastHiddenState, out.poolerOutput!, inputs.inputIds, inputs.attentionMask!, inputs.tokenTypeIds!]);
  });

  it('saves an adapter_config.json equal to the reference config', async () => {
    const { readFileSync, mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'pt-'));
    try {
      await model.saveAdapter(dir, 'prompt_tuning');
      const ours = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8')) as { config: unknown };
      const ref = JSON.parse(readFileSync(join(CASE, 'adapter_config.json'), 'utf8')) as { config: unknown };
      expect(ours.config).toEqual(ref.config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('prompt tuning behaviour', () => {
  const bertCfg = { model_type: 'bert', vocab_size: 64, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32 };
  const ids = (): tf.Tensor2D => tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 0]], [2, 4], 'int32');

  it('combinePrompt: prefix puts the prompt first, prefix_after_bos after token 0', () => {
    const x = tf.tensor3d([[[1], [2], [3]]]);
    const p = tf.tensor2d([[9], [8]]);
    expect(Array.from(combinePrompt(x, p, 'prefix').dataSync())).toEqual([9, 8, 1, 2, 3]);
    expect(Array.from(combinePrompt(x, p, 'prefix_after_bos').dataSync())).toEqual([1, 9, 8, 2, 3]);
    tf.dispose([x, p]);
  });

  it('only the first adapter of a Stack inserts its prompt (PromptTuningLayer uses setup.first())', () => {
    const model = new AdapterModel(initHost(bertCfg), { methods: [...plugins] });
    model.addAdapter('a', 'prompt_tuning[prompt_length=2]');
    model.addAdapter('b', 'prompt_tuning[prompt_length=3]');
    const input = { inputIds: ids() };
    model.setActiveAdapters(Stack('a', 'b'));
    const stacked = model.forward(input).lastHiddenState;
    model.setActiveAdapters('a');
    const alone = model.forward(input).lastHiddenState;
    expect(stacked.shape).toEqual([2, 6, 16]);
    expect(maxAbsDiff(stacked, alone)).toBe(0);
    tf.dispose([stacked, alone, input.inputIds]);
    model.dispose();
  });

  it('trains only the prompt, and the gradient reaches it', async () => {
    await registerTrainingSupport();
    const model = new AdapterModel(initHost(bertCfg), { methods: [...plugins] });
    model.addAdapter('p', 'prompt_tuning[prompt_length=2]');
    model.trainAdapter('p');
    const vars = model.trainableVariables();
    expect(vars.map((v) => v.shape)).toEqual([[2, 16]]);
    const input = { inputIds: ids() };
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.forward(input, { training: true }).lastHiddenState)) as tf.Scalar, vars);
    const g = Object.values(grads)[0]!;
    expect(tf.max(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([...Object.values(grads), input.inputIds]);
    model.dispose();
  });

  it('on a host without prompt-tuning support (GPT-2) it adds nothing and warns', () => {
    const warnings: string[] = [];
    const model = new AdapterModel(initHost({ model_type: 'gpt2', n_embd: 16, n_layer: 2, n_head: 2, vocab_size: 64 }), { methods: [...plugins], warn: (m) => warnings.push(m) });
    const input = { inputIds: ids() };
    const base = model.forward(input).lastHiddenState;
    model.addAdapter('p', 'prompt_tuning[prompt_length=4]', { setActive: true });
    expect(model.adapterParams('p')).toEqual([]);
    expect(warnings.some((w) => w.includes('does not support prompt tuning'))).toBe(true);
    const out = model.forward(input).lastHiddenState;
    expect(maxAbsDiff(out, base)).toBe(0);
    tf.dispose([base, out, input.inputIds]);
    model.dispose();
  });

  it('Llama (adapters 1.1 support_prompt_tuning = False): loading the no-op case adds nothing, warns, and gives the base output', async () => {
    const extra = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/golden-next-extra');
    const warnings: string[] = [];
    const model = new AdapterModel(await loadHost(join(extra, 'models/llama')), { methods: [...plugins], warn: (m) => warnings.push(m) });
    expect(model.info.supportsPromptTuning).toBe(false);
    const inputs = goldenInputs(extra, 'llama');
    const base = model.forward(inputs).lastHiddenState;
    const name = await model.loadAdapter(join(extra, 'cases/llama/prompt_tuning'), { setActive: true });
    expect(model.adapterParams(name)).toEqual([]);
    expect(warnings.some((w) => w.includes('does not support prompt tuning'))).toBe(true);
    const ref = await readTensors(join(extra, 'cases/llama/prompt_tuning/output.safetensors'));
    const out = model.forward(inputs).lastHiddenState;
    expect(maxAbsDiff(out, base)).toBe(0);
    expect(maxAbsDiff(out, ref.get('last_hidden_state')!)).toBeLessThan(1e-5);
    tf.dispose([base, out, ...ref.values(), inputs.inputIds, inputs.attentionMask!]);
    model.dispose();
  });

  it('rejects from_string without a tokenizer and bad lengths with typed errors', () => {
    const model = new AdapterModel(initHost(bertCfg), { methods: [...plugins] });
    expect(() => model.addAdapter('s', { method: 'prompt_tuning', promptInit: 'from_string', promptInitText: 'hello' })).toThrow(CapabilityError);
    expect(() => PromptTuningConfig({ promptLength: 0 })).toThrow(/prompt_length/);
    expect(() => PromptTuningConfig({ promptInit: 'from_string' })).toThrow(/prompt_init_text/);
    model.dispose();
  });

  it('PromptTuningConfig mirrors the reference defaults', () => {
    expect(PromptTuningConfig({ prompt_length: 5 })).toEqual({ method: 'prompt_tuning', promptLength: 5, promptInit: 'random_uniform', promptInitText: null, combine: 'prefix' });
  });
});
