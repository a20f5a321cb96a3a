/**
 * Interop proof (LoRA settings AdapterHub lacks): what adapter-transformers 3.2.1 and `adapters` 1.1.0 make of LoRA
 * adapters saved by AdapterKit in their layout. Their `LoRAConfig` has no `extra_modules`, `use_rslora` or `use_dora`
 * (adapter-transformers 3.2.1 not `leave_out` either, which matters with `init_weights="bert"`);
 * `from_dict` keeps an unknown key as an attribute nothing reads, so such a file loads there without an error but as
 * another model. `saveAdapter` therefore refuses those configs (`NOT_ADAPTERHUB_LOADABLE`) unless
 * `{ adapterKitOnly: true }`; every config it does write loads there as the same model.
 *
 * Runs only when `ADAPTERKIT_REFERENCE_AT` points at adapter-transformers 3.2.1's `src` (huggingface_hub v0.13.4 in
 * `ADAPTERKIT_REFERENCE_HFH`, else beside it, as scripts/interop-at.test.ts) and Debian's `/usr/bin/python3` has
 * torch. With `ADAPTERKIT_REFERENCE_ADAPTERS` (adapters v1.1.0's `src`) it also runs adapters 1.1.0's own config
 * module (`AdapterConfig.load`) on the same files; its models need transformers 4.47, which is not run here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterConfigError, AdapterModel, serializeSafetensors, type ModelInputs } from '@adapterkit/core';
import { plugins } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { beforeAll, describe, expect, it } from 'vitest';

const AT = process.env['ADAPTERKIT_REFERENCE_AT'];
const HFH = process.env['ADAPTERKIT_REFERENCE_HFH'] ?? (AT ? join(AT, '..', '..', 'hfh', 'src') : undefined);
const AD = process.env['ADAPTERKIT_REFERENCE_ADAPTERS'];
const golden = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const script = fileURLToPath(new URL('./interop/lora_adapterhub_check.py', import.meta.url));
if (!AT) console.warn('[interop-lora-adapterhub] skipped: set ADAPTERKIT_REFERENCE_AT=/path/to/adapter-transformers/src to run it');

/** Configs `saveAdapter` writes by default: the reference loads each as the same model. */
const LOADABLE = {
  lora_qkv_ffn: 'lora[r=4,alpha=8,attn_matrices=["q","k","v"],intermediate_lora=True,output_lora=True]',
  lora_bert_init: 'lora[r=2,alpha=3,init_weights="bert"]',
  ia3: 'ia3',
  // leave_out: a field of adapters 1.1's LoRAConfig. adapter-transformers 3.2.1 drops the key (its add_adapter keeps
  // only dataclass fields) and builds layer 0's modules too, which the file lacks: they keep their initial value, zero
  // B with init_weights "lora", so the model is the same (with "bert" init they start random: refused below)
  lora_leave_out: 'lora[r=4,alpha=8,leave_out=[0],output_lora=True]',
};
/** Configs with settings AdapterHub lacks: written only with `adapterKitOnly`, to show what the reference makes of them. */
const GAPS = {
  extra_modules: { config: 'lora[r=4,alpha=8,extra_modules=["attention_output","pooler"]]', field: 'extra_modules' },
  use_rslora: { config: 'lora[r=4,alpha=8,use_rslora=True]', field: 'use_rslora' },
  use_dora: { config: 'lora[r=4,alpha=8,use_dora=True]', field: 'use_dora' },
  leave_out_bert_init: { config: 'lora[r=4,alpha=8,leave_out=[0],init_weights="bert"]', field: 'leave_out' },
};
/** Keys adapter-transformers 3.2.1 drops that adapters 1.1.0's LoRAConfig has. */
const AD_ONLY_FIELDS = ['leave_out'];

interface AtLine {
  case: string;
  config_class: string;
  ignored_keys: string[];
  dropped_weights: string[];
  missing_weights: string[];
  max_abs_diff: number;
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Add a fixed pattern to every adapter parameter (LoRA's B starts at zero: the update would be nil otherwise). */
function perturb(model: AdapterModel, name: string): void {
  model.adapterParams(name).forEach((p, i) => {
    tf.tidy(() => {
      const n = p.variable.size;
      const pattern = tf.reshape(tf.sin(tf.add(tf.mul(tf.range(0, n, 1, 'float32'), 0.37), i)), p.variable.shape);
      p.variable.assign(tf.add(p.variable, tf.mul(pattern, 0.2)));
    });
  });
}

describe.skipIf(!AT || !existsSync('/usr/bin/python3'))('AdapterHub libraries load the LoRA adapters we save in their layout', () => {
  it('default saves load as the same model; extra_modules / use_rslora / use_dora are refused, and would load as another model', async () => {
    const inputs = JSON.parse(readFileSync(join(golden, 'inputs.json'), 'utf8')) as Record<string, Record<string, number[][]>>;
    const bert = inputs['bert']!;
    const x: ModelInputs = {
      inputIds: tf.tensor2d(bert['input_ids']!, undefined, 'int32'),
      attentionMask: tf.tensor2d(bert['attention_mask']!, undefined, 'int32'),
      tokenTypeIds: tf.tensor2d(bert['token_type_ids']!, undefined, 'int32'),
    };
    const out = mkdtempSync(join(tmpdir(), 'adapterkit-lora-adapterhub-'));
    try {
      const host = join(golden, 'models', 'bert');
      const cases = [...Object.entries(LOADABLE).map(([id, config]) => ({ id, config, gap: undefined })), ...Object.entries(GAPS).map(([id, g]) => ({ id, config: g.config, gap: g.field }))];
      for (const c of cases) {
        const model = new AdapterModel(await loadHost(host), { methods: [...plugins], warn: () => undefined });
        model.addAdapter(c.id, c.config, { setActive: true });
        perturb(model, c.id);
        const dir = join(out, c.id);
        if (c.gap) {
          const err = await model.saveAdapter(join(dir, 'refused'), c.id, { format: 'bin' }).catch((e: unknown) => e);
          expect(err, c.id).toBeInstanceOf(AdapterConfigError);
          expect((err as AdapterConfigError).code).toBe('NOT_ADAPTERHUB_LOADABLE');
          expect((err as Error).message).toContain(c.gap);
          expect(existsSync(join(dir, 'refused'))).toBe(false);
        }
        await model.saveAdapter(join(dir, 'adapter'), c.id, { format: 'bin', ...(c.gap ? { adapterKitOnly: true } : {}) });
        const y = model.forward(x);
        writeFileSync(join(dir, 'expected.safetensors'), serializeSafetensors({ last_hidden_state: { shape: y.lastHiddenState.shape, data: y.lastHiddenState.dataSync() as Float32Array } }));
        tf.dispose(Object.values(y).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
        model.dispose();
      }
      tf.dispose(Object.values(x));
      const dirs = cases.map((c) => join(out, c.id));
      const lines = execFileSync('/usr/bin/python3', [script, 'at', host, join(golden, 'inputs.json'), 'bert', ...dirs], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: [AT, HFH].join(':') },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as AtLine);
      console.log(lines.map((l) => JSON.stringify({ ...l, dropped_weights: l.dropped_weights.length, missing_weights: l.missing_weights.length })).join('\n'));
      const by = new Map(lines.map((l) => [l.case, l]));
      for (const id of Object.keys(LOADABLE)) {
        const l = by.get(id)!;
        expect(l.config_class, id).toBe('LoRAConfig');
        expect(l.ignored_keys, id).toEqual(id === 'lora_leave_out' ? ['leave_out'] : []);
        expect(l.dropped_weights, id).toEqual([]);
        // lora_leave_out: the left-out layer's modules, built there from their initial (no-op) values
        expect(l.missing_weights.every((k) => k.startsWith('encoder.layer.0.')), id).toBe(true);
        expect(l.missing_weights, id).toHaveLength(id === 'lora_leave_out' ? 6 : 0);
        expect(l.max_abs_diff, id).toBeLessThan(1e-4);
      }
      // what the refused configs would have been there: loaded without an error, as another model
      for (const [id, g] of Object.entries(GAPS)) {
        const l = by.get(id)!;
        expect(l.ignored_keys, id).toEqual([g.field]);
        expect(l.max_abs_diff, id).toBeGreaterThan(1e-3);
      }
      expect(by.get('extra_modules')!.dropped_weights.some((k) => k.includes('attention.output.dense.loras'))).toBe(true);
      expect(by.get('extra_modules')!.dropped_weights.some((k) => k.startsWith('pooler.dense.loras'))).toBe(true);
      expect(by.get('use_dora')!.dropped_weights.length).toBeGreaterThan(0);

      if (AD) {
        const ad = execFileSync('/usr/bin/python3', [script, 'ad', AD, ...dirs], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { case: string; config_class: string; ignored_keys: string[]; to_dict_matches: boolean });
        console.log(ad.map((l) => JSON.stringify(l)).join('\n'));
        for (const l of ad) {
          expect(l.config_class, l.case).toBe('LoRAConfig');
          expect(l.to_dict_matches, l.case).toBe(true);
          const gap = (GAPS as Record<string, { field: string }>)[l.case];
          expect(l.ignored_keys, l.case).toEqual(gap && !AD_ONLY_FIELDS.includes(gap.field) ? [gap.field] : []);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 600_000);
});
