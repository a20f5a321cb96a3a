import '@tensorflow/tfjs-backend-cpu';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, adapterConfigToJson, toPythonJson } from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { IA3Config, LoRAConfig, lora } from './index';
import { buildModel, caseDir, type GoldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The config dict as adapter_config.json writes it (Python JSON: floats keep `.0`, sorted keys). */
function configText(config: LoRAConfig): string {
  const { dict, floatPaths } = adapterConfigToJson([{ method: lora, config: config as never }]);
  const floats = new Set(floatPaths.map((p) => p.join('/')));
  return toPythonJson(dict, { indent: 2, sortKeys: true, floatKeys: (p) => floats.has(p.join('/')) });
}

function goldenConfigText(model: GoldenModel, c: string): string {
  const doc = JSON.parse(readFileSync(join(caseDir(model, c), 'adapter_config.json'), 'utf8')) as { config: unknown };
  return toPythonJson(doc.config, { indent: 2, sortKeys: true, floatKeys: (p) => p.join('/') === 'dropout' });
}

describe('LoRAConfig / IA3Config', () => {
  it('have the reference defaults', () => {
    expect(LoRAConfig()).toEqual({
      method: 'lora',
      selfattnLora: true,
      intermediateLora: false,
      outputLora: false,
      r: 8,
      alpha: 8,
      dropout: 0.0,
      attnMatrices: ['q', 'v'],
      compositionMode: 'add',
      initWeights: 'lora',
      useGating: false,
      useRslora: false,
      useDora: false,
      extraModules: [],
      leaveOut: [],
    });
    expect(IA3Config()).toMatchObject({ intermediateLora: true, r: 1, alpha: 1, attnMatrices: ['k', 'v'], compositionMode: 'scale', initWeights: 'ia3' });
  });

  it('serialise exactly as the golden adapter_config.json "config" dicts', () => {
    expect(configText(LoRAConfig({ r: 4, alpha: 8 }))).toBe(goldenConfigText('bert', 'lora'));
    expect(configText(IA3Config())).toBe(goldenConfigText('bert', 'ia3'));
    expect(configText(IA3Config())).toContain('"dropout": 0.0');
    expect(configText(LoRAConfig({ r: 4, alpha: 8 }))).toBe(goldenConfigText('gpt2', 'lora'));
  });

  it('accept snake_case overrides and reject invalid values naming the field', () => {
    expect(LoRAConfig({ attn_matrices: ['q', 'k', 'v'], intermediate_lora: true }).attnMatrices).toEqual(['q', 'k', 'v']);
    expect(() => LoRAConfig({ compositionMode: 'scale' })).toThrow(/'r' must be 1 when composition_mode is 'scale'/);
    expect(() => IA3Config({ r: 2 })).toThrow(AdapterConfigError);
    expect(() => LoRAConfig({ attnMatrices: ['q', 'o' as never] })).toThrow(/attn_matrices.*'q', 'k', 'v'.*"o"/);
    expect(() => LoRAConfig({ attnMatrices: ['q', 'q'] })).toThrow(/twice/);
    expect(() => LoRAConfig({ r: 0 })).toThrow(/'r' must be a positive integer/);
    expect(() => LoRAConfig({ compositionMode: 'mul' as never })).toThrow(/composition_mode/);
    expect(() => LoRAConfig({ rank: 4 })).toThrow(/no field 'rank'/);
  });
});

describe('config strings', () => {
  it("resolve 'lora[r=8,alpha=16]' and 'ia3' against the presets", async () => {
    const model = await buildModel('bert');
    model.addAdapter('a', 'lora[r=8,alpha=16]');
    model.addAdapter('b', 'ia3');
    model.addAdapter('c', "lora[r=16, alpha=32, attn_matrices=['q','k','v']]");
    const cfg = (n: string): Record<string, unknown> => model.requireAdapter(n).members[0]!.config;
    expect(cfg('a')).toMatchObject({ r: 8, alpha: 16, attnMatrices: ['q', 'v'], compositionMode: 'add' });
    expect(cfg('b')).toEqual(IA3Config());
    expect(cfg('c')).toMatchObject({ r: 16, alpha: 32, attnMatrices: ['q', 'k', 'v'] });
    // bert: 2 layers, hidden 32, intermediate 64
    expect(model.requireAdapter('a').params.count()).toBe(2 * 2 * (8 * 32 + 32 * 8));
    expect(model.requireAdapter('b').params.count()).toBe(2 * (32 + 32 + 64));
    expect(() => model.addAdapter('d', 'lora[composition_mode="scale"]')).toThrow(AdapterConfigError);
    model.dispose();
  });

  it('count gate and fused-projection parameters like the reference', async () => {
    const gpt2 = await buildModel('gpt2');
    // c_attn (q, v): A [2·4, 32], B [2·32, 4], gate [2, 32] + [2]; c_fc: A [4, 32], B [128, 4], gate [1, 32] + [1]
    gpt2.addAdapter('g', 'lora[r=4, use_gating=True, intermediate_lora=True]');
    expect(gpt2.requireAdapter('g').params.count()).toBe(2 * (8 * 32 + 64 * 4 + 2 * 32 + 2 + 4 * 32 + 128 * 4 + 32 + 1));
    const keys = gpt2.adapterParams('g').map((p) => p.key);
    expect(keys).toContain('h.0.attn.c_attn.loras.g.gate.weight');
    expect(keys).toContain('h.1.mlp.c_fc.loras.g.lora_B');
    gpt2.dispose();
  });
});
