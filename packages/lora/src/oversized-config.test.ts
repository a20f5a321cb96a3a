import '@tensorflow/tfjs-backend-cpu';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, caseDir } from './test-helpers';

const tmp = mkdtempSync(join(tmpdir(), 'ak-lora-oversized-'));
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tampered(id: string, r: number): string {
  const dir = join(tmp, id);
  cpSync(caseDir('bert', 'lora'), dir, { recursive: true });
  const path = join(dir, 'adapter_config.json');
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { config: Record<string, unknown> };
  doc.config['r'] = r;
  writeFileSync(path, JSON.stringify(doc));
  return dir;
}

describe('loadAdapter: LoRA rank from the config is bounded before allocating', () => {
  it.each([
    ['r=1e9 (probe reproducer)', 1e9, 'BAD_FIELD_VALUE', /'r'.*at most 16384/],
    ['r=16384: allowed, but more than the file can fill', 16384, 'ADAPTER_SIZE_EXCEEDS_FILE', /more than its weights file can fill/],
  ] as const)('%s: a typed error, no tensor leaked', async (_label, r, code, message) => {
    const m = await buildModel('bert');
    try {
      const before = tf.memory().numTensors;
      const err = await m.loadAdapter(tampered(String(r), r)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdapterKitError);
      expect((err as AdapterKitError).code).toBe(code);
      expect((err as Error).message).toMatch(message);
      expect(m.adapterSummary()).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      m.dispose();
    }
  });
});
