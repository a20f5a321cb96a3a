import '@tensorflow/tfjs-backend-cpu';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, init, Rng, serializeSafetensors } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { goldenInputs, runParity } from '@adapterkit/testkit';
import { describe, expect, it } from 'vitest';
import { parityAdapterConfig, plugins } from './index';

const GOLDEN_NEXT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/golden-next');

describe('parity runner on a DiReFT case saved the way adapters 1.1 saves it (no subtract_projection)', () => {
  it('passes with the config fix, and fails without it (the file alone reads as NoReFT)', async () => {
    const golden = mkdtempSync(join(tmpdir(), 'direft-golden-'));
    try {
      // a golden folder with one case: our DiReFT adapter, its config stripped of the flag, its true DiReFT output
      mkdirSync(join(golden, 'models'), { recursive: true });
      cpSync(join(GOLDEN_NEXT, 'models/bert_v1'), join(golden, 'models/bert_v1'), { recursive: true });
      cpSync(join(GOLDEN_NEXT, 'inputs.json'), join(golden, 'inputs.json'));
      const caseDir = join(golden, 'cases/bert_v1/direft');
      const model = new AdapterModel(await loadHost(join(golden, 'models/bert_v1')), { methods: [...plugins] });
      model.addAdapter('direft', 'direft[prefix_positions=3,suffix_positions=2,r=2]', { setActive: true });
      const rng = new Rng(2);
      for (const p of model.adapterParams('direft')) {
        const t = init.normal(rng, [...p.variable.shape], 0.3);
        p.variable.assign(t);
        t.dispose();
      }
      await model.saveAdapter(caseDir, 'direft');
      const inputs = goldenInputs(golden, 'bert_v1');
      const out = model.forward(inputs);
      const entry = async (t: tf.Tensor) => ({ shape: [...t.shape], data: (await t.data()) as Float32Array });
      writeFileSync(join(caseDir, 'output.safetensors'), serializeSafetensors({ last_hidden_state: await entry(out.lastHiddenState), pooler_output: await entry(out.poolerOutput!) }));
      tf.dispose([out.lastHiddenState, out.poolerOutput!, inputs.inputIds, inputs.attentionMask!, inputs.tokenTypeIds!]);
      model.dispose();
      const cfgPath = join(caseDir, 'adapter_config.json');
      const doc = JSON.parse(readFileSync(cfgPath, 'utf8')) as { config: Record<string, unknown> };
      delete doc.config['subtract_projection'];
      writeFileSync(cfgPath, JSON.stringify(doc));
      const meta = { description: 'DiReftConfig(prefix_positions=3, suffix_positions=2, r=2): no subtraction', trainable_params: 4 * 130 };
      writeFileSync(join(caseDir, 'meta.json'), JSON.stringify(meta));
      writeFileSync(
        join(golden, 'index.json'),
        JSON.stringify({
          cases: [{ model: 'bert_v1', case: 'direft', kind: 'single_adapter', status: 'ok', path: 'cases/bert_v1/direft', outputs: { last_hidden_state: [2, 12, 32], pooler_output: [2, 32] } }],
          tolerance: { outputs: { atol: 1e-4 }, grads: { atol: 1e-5, rtol: 1e-3 } },
        }),
      );
      const log = (): void => undefined;
      const fixed = await runParity({ goldenDir: golden, plugins: [...plugins], extras: { adapterConfigFixes: [parityAdapterConfig] }, log });
      expect(fixed.results[0]).toMatchObject({ status: 'PASS', reason: 'adapter_config.json corrected for a reference bug: subtract_projection=false' });
      const asSaved = await runParity({ goldenDir: golden, plugins: [...plugins], log });
      expect(asSaved.results[0]!.status).toBe('FAIL');
    } finally {
      rmSync(golden, { recursive: true, force: true });
    }
  });
});
