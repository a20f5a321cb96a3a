import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Stack, type AdapterModel, type SetupNode } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mixedForward } from './mixed';
import { bertModel, CASES, ids, maxDiff, REPO } from './test-support';

let model: AdapterModel;

beforeAll(async () => {
  model = await bertModel();
  for (const c of CASES) await model.loadAdapter(join(REPO, 'fixtures', 'golden', 'cases', 'bert', c), { loadAs: c });
});
afterAll(() => model.dispose());

/** Row `inputIds` alone, unpadded, under `setup` alone. */
function alone(setup: SetupNode | null, inputIds: number[]): number[][] {
  model.setActiveAdapters(setup);
  return tf.tidy(() => {
    const out = model.forward({ inputIds: tf.tensor2d([inputIds], [1, inputIds.length], 'int32') });
    return (out.lastHiddenState.arraySync() as number[][][])[0]!;
  });
}

describe('mixedForward', () => {
  it('equals each row run alone, for rows of different adapters, lengths, compositions and the bare model', () => {
    const setups: Array<SetupNode | null> = [...CASES, null, Stack('pfeiffer', 'lora'), 'lora', 'prefix_tuning', 'pfeiffer'];
    const rows = setups.map((setup, i) => ({ setup, inputIds: ids(4 + ((i * 5) % 9), i) }));
    const before = tf.memory().numTensors;
    const forwards: Array<[number, number]> = [];
    const got = mixedForward(model, rows, { onForward: (n, k) => forwards.push([n, k]) });
    // LoRA, (IA)³, prefix tuning and Stack(pfeiffer, lora)… : the routed setups share one forward
    expect(forwards.some(([, k]) => k >= 3)).toBe(true);
    expect(forwards.length).toBeLessThan(rows.length);
    expect(tf.memory().numTensors).toBe(before);
    expect(got).toHaveLength(rows.length);
    rows.forEach((r, i) => {
      const want = alone(r.setup, r.inputIds);
      expect(got[i]!.lastHiddenState).toHaveLength(r.inputIds.length);
      expect(maxDiff(got[i]!.lastHiddenState, want), `row ${i} (${String(r.setup)})`).toBeLessThan(1e-4);
    });
    // the adapters do change the output, so the comparison above can fail
    expect(maxDiff(alone('pfeiffer', rows[0]!.inputIds), alone(null, rows[0]!.inputIds))).toBeGreaterThan(1e-3);
  });

  it('gives the same rows with mixing off (one forward per adapter)', () => {
    const rows = (['lora', 'pfeiffer', 'lora', 'prefix_tuning'] as const).map((setup, i) => ({ setup, inputIds: ids(3 + i, 10 + i) }));
    const a = mixedForward(model, rows);
    const b = mixedForward(model, rows, { mixed: false });
    rows.forEach((_, i) => expect(maxDiff(a[i]!.lastHiddenState, b[i]!.lastHiddenState)).toBeLessThan(1e-4));
  });
});
