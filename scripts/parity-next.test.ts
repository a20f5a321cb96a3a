import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingSupport } from '@adapterkit/core';
import { discoverPlugins, runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';

const goldenDir = fileURLToPath(new URL('../fixtures/golden-next', import.meta.url));
const extraDir = fileURLToPath(new URL('../fixtures/golden-next-extra', import.meta.url));

describe('parity with the second reference set (fixtures/golden-next: DistilBERT, Llama, Qwen2)', () => {
  beforeAll(async () => {
    await registerTrainingSupport();
    await tf.setBackend('cpu');
  });

  it('passes every case: bases, adapters, prefix tuning with GQA (and ejected), the LM training step, PEFT LoRA', async () => {
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const lines: string[] = [];
    const r = await runParity({ goldenDir, cases: 'distilbert/*,llama/*,qwen2/*', plugins, extras, log: (l) => lines.push(l) });
    expect(lines.at(-1), lines.join('\n')).toBe('12 passed, 0 failed, 0 skipped');
    expect(r.results.map((x) => x.id).sort()).toEqual(
      [
        'distilbert/base',
        'distilbert/comp_stack',
        'distilbert/lora',
        'distilbert/pfeiffer',
        'distilbert/prefix_tuning',
        'llama/base',
        'llama/lora',
        'llama/peft_lora',
        'llama/prefix_tuning',
        'llama/seq_bn',
        'llama/train_lora',
        'qwen2/base',
      ].sort(),
    );
  });

  it('passes the cases generated here (fixtures/golden-next-extra: DistilBERT with adapter-transformers 3.2.1, PEFT, ReFT, LoRA/IA³ cases by hand)', async () => {
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const lines: string[] = [];
    const r = await runParity({ goldenDir: extraDir, plugins, extras, log: (l) => lines.push(l) });
    expect(lines.at(-1), lines.join('\n')).toBe('26 passed, 0 failed, 0 skipped');
    expect(r.results.map((x) => x.id).sort()).toEqual(
      [
        ...['compacter_rf8', 'houlsby', 'ia3', 'lora_all', 'mam', 'parallel', 'pfeiffer_inv', 'train_pfeiffer'].map((c) => `distilbert/${c}`),
        ...['peft_dora', 'peft_ia3', 'peft_lora_all', 'noreft', 'direft', 'lora_all', 'ia3', 'prompt_tuning', 'double_seq_bn', 'par_bn', 'compacter'].map((c) => `llama/${c}`),
        'qwen2/peft_lora',
        ...['peft_ia3', 'peft_lora_all', 'peft_vera', 'noreft', 'direft', 'pfeiffer_v1'].map((c) => `bert_v1/${c}`),
      ].sort(),
    );
  });
});
