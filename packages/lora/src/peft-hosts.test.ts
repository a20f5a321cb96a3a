import '@tensorflow/tfjs-backend-cpu';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, readSafetensors, serializeSafetensors, type ModelInputs } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { maxAbsDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportPeftAdapter, importPeftAdapter, plugins } from './index';

const NEXT = resolve(fileURLToPath(new URL('../../../fixtures/golden-next', import.meta.url)));
let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'peft-hosts-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function model(name: 'llama' | 'qwen2' | 'distilbert'): Promise<AdapterModel> {
  return new AdapterModel(await loadHost(join(NEXT, 'models', name)), { methods: [...plugins], warn: () => undefined });
}

function inputs(name: string): ModelInputs {
  const all = JSON.parse(readFileSync(join(NEXT, 'inputs.json'), 'utf8')) as Record<string, { input_ids: number[][]; attention_mask: number[][] }>;
  return { inputIds: tf.tensor2d(all[name]!.input_ids, undefined, 'int32'), attentionMask: tf.tensor2d(all[name]!.attention_mask, undefined, 'int32') };
}

const json = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

describe('PEFT LoRA on the new hosts', () => {
  it('llama: import → export gives PEFT 0.14 files back (keys with the LlamaForCausalLM prefix, q_proj/v_proj targets)', async () => {
    const m = await model('llama');
    const golden = join(NEXT, 'cases', 'llama', 'peft_lora');
    await importPeftAdapter(m, golden, { setActive: true });
    const out = join(tmp, 'llama-peft');
    await exportPeftAdapter(m, 'default', out);
    const ours = (await readSafetensors(join(out, 'adapter_model.safetensors'))).tensors;
    const ref = (await readSafetensors(join(golden, 'adapter_model.safetensors'))).tensors;
    expect([...ours.keys()].sort()).toEqual([...ref.keys()].sort());
    for (const [k, t] of ref) {
      expect(ours.get(k)!.shape, k).toEqual(t.shape);
      const a = ours.get(k)!.data as Float32Array;
      expect(Math.max(...Array.from(t.data as Float32Array, (v, i) => Math.abs(v - a[i]!))), k).toBeLessThan(1e-6);
    }
    const cfg = json(join(out, 'adapter_config.json'));
    const refCfg = json(join(golden, 'adapter_config.json'));
    expect(new Set(cfg['target_modules'] as string[])).toEqual(new Set(refCfg['target_modules'] as string[]));
    expect([cfg['r'], cfg['lora_alpha'], cfg['fan_in_fan_out']]).toEqual([refCfg['r'], refCfg['lora_alpha'], false]);
    m.dispose();
  });

  it('llama: saveAdapter writes the reference keys (model. prefix) of adapters 1.1.0', async () => {
    const m = await model('llama');
    const golden = join(NEXT, 'cases', 'llama', 'lora');
    await m.loadAdapter(golden);
    await m.saveAdapter(join(tmp, 'llama-lora'), 'lora');
    const ours = (await readSafetensors(join(tmp, 'llama-lora', 'adapter.safetensors'))).tensors;
    const ref = (await readSafetensors(join(golden, 'adapter.safetensors'))).tensors;
    expect([...ours.keys()].sort()).toEqual([...ref.keys()].sort());
    m.dispose();
  });

  it.each(['distilbert', 'qwen2'] as const)('%s: export names the architecture’s modules and re-imports to the same outputs', async (name) => {
    const m = await model(name);
    m.addAdapter('a', 'lora[r=4,alpha=8,attn_matrices=["q","v"],init_weights="bert"]', { setActive: true });
    const x = inputs(name);
    const before = tf.tidy(() => m.forward(x).lastHiddenState);
    const out = join(tmp, `${name}-peft`);
    await exportPeftAdapter(m, 'a', out);
    const cfg = json(join(out, 'adapter_config.json'));
    expect(new Set(cfg['target_modules'] as string[])).toEqual(new Set(name === 'distilbert' ? ['q_lin', 'v_lin'] : ['q_proj', 'v_proj']));
    const keys = [...(await readSafetensors(join(out, 'adapter_model.safetensors'))).tensors.keys()];
    expect(keys).toContain(name === 'distilbert' ? 'base_model.model.transformer.layer.0.attention.q_lin.lora_A.weight' : 'base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight');
    const again = await model(name);
    await importPeftAdapter(again, out, { name: 'b', setActive: true });
    const after = tf.tidy(() => again.forward(x).lastHiddenState);
    expect(maxAbsDiff(before, after)).toBeLessThan(1e-5);
    tf.dispose([before, after, x.inputIds, x.attentionMask!]);
    m.dispose();
    again.dispose();
  });

  it('llama: a PEFT target the host cannot adapt (lm_head) is refused, naming the module', async () => {
    const m = await model('llama');
    const dir = join(tmp, 'lm-head');
    const golden = join(NEXT, 'cases', 'llama', 'peft_lora');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...json(join(golden, 'adapter_config.json')), target_modules: ['lm_head'] }));
    const data = new Float32Array(4 * 32);
    writeFileSync(
      join(dir, 'adapter_model.safetensors'),
      serializeSafetensors({
        'base_model.model.lm_head.lora_A.weight': { shape: [4, 32], data },
        'base_model.model.lm_head.lora_B.weight': { shape: [512, 4], data: new Float32Array(512 * 4) },
      }),
    );
    await expect(importPeftAdapter(m, dir)).rejects.toThrow(/module 'lm_head', which LoRA cannot wrap on llama/);
    expect(m.adapterNames()).toEqual([]);
    m.dispose();
  });
});
