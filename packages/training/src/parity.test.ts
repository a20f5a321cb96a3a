import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingSupport } from '@adapterkit/core';
import { plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import { runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { parityTrainStep } from './index';
import { caseDir, GOLDEN, goldenModel } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

describe('gradient parity with the golden training-step cases', () => {
  it('passes train_pfeiffer and train_pfeiffer_flexhead through the parity runner; skips methods not installed', async () => {
    const lines: string[] = [];
    const summary = await runParity({
      goldenDir: GOLDEN,
      cases: 'bert/train_*',
      plugins: [...bottleneckPlugins],
      extras: { trainStep: parityTrainStep },
      log: (l) => lines.push(l),
    });
    console.log(lines.join('\n'));
    const byId = new Map(summary.results.map((r) => [r.id, r]));
    for (const id of ['bert/train_pfeiffer', 'bert/train_pfeiffer_flexhead']) {
      expect(byId.get(id)?.status, `${id}: ${byId.get(id)?.reason}`).toBe('PASS');
      expect(byId.get(id)!.maxAbsDiff!).toBeLessThan(1e-5);
    }
    // lora / prefix_tuning are not installed here: METHOD_NOT_INSTALLED propagates and the runner skips them
    for (const id of ['bert/train_lora', 'bert/train_prefix_tuning']) expect(byId.get(id)?.status).toBe('SKIP');
    expect(summary.failed).toBe(0);
  });

  it('reports a mismatch (here: a wrong trainable-parameter count) and leaves no tensors behind', async () => {
    const dir = caseDir('bert/train_pfeiffer_flexhead');
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    const model = await goldenModel('bert');
    const before = tf.memory().numTensors;
    const ok = await parityTrainStep(model, dir, meta, GOLDEN);
    expect(ok.ok).toBe(true);
    model.deleteAdapter('pfeiffer');
    expect(tf.memory().numTensors).toBe(before);
    const bad = await parityTrainStep(model, dir, { ...meta, trainable_params: 1 }, GOLDEN);
    expect(bad.ok).toBe(false);
    expect(bad.detail).toContain('trainable params 1479');
    model.dispose();
  });
});
