import '@tensorflow/tfjs-backend-cpu';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseDir, goldenModel } from './test-helpers';

const tmp = mkdtempSync(join(tmpdir(), 'ak-oversized-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the golden pfeiffer_inv adapter whose config has `patch` applied. */
function tampered(id: string, patch: Record<string, unknown>): string {
  const dir = join(tmp, id);
  cpSync(caseDir('bert', 'pfeiffer_inv'), dir, { recursive: true });
  const path = join(dir, 'adapter_config.json');
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { config: Record<string, unknown> };
  Object.assign(doc.config, patch);
  writeFileSync(path, JSON.stringify(doc));
  return dir;
}

describe('loadAdapter validates sizes from the config before allocating (probe reproducers)', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['rf-1e-300', { reduction_factor: 1e-300 }, /'reduction_factor'.*must be at least 0\.0625/],
    ['rf-map-1e-300', { reduction_factor: { default: 16, '1': 1e-300 } }, /'reduction_factor'.*at least 0\.0625 \(entry '1'\)/],
    ['inv-1e-5', { inv_adapter_reduction_factor: 1e-5 }, /'inv_adapter_reduction_factor'.*must be at least 0\.0625/],
    ['inv-1e-7', { inv_adapter_reduction_factor: 1e-7 }, /'inv_adapter_reduction_factor'.*must be at least 0\.0625/],
    ['phm-dim', { phm_layer: true, phm_dim: 1e6 }, /'phm_dim'.*at most 64/],
    // within the field's range, but not what the file holds: a typed mismatch, not a crash
    ['rf-wide', { reduction_factor: 0.0625 }, /do not match|more than its weights file can fill/],
  ];
  it.each(cases)('%s: a typed error, the model unchanged, no tensor leaked', async (id, patch, message) => {
    const m = await goldenModel('bert');
    try {
      const before = tf.memory().numTensors;
      const err = await m.loadAdapter(tampered(id, patch)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterKitError);
      expect((err as Error).message).toMatch(message);
      expect(m.adapterSummary()).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });
});
