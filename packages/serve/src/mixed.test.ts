import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Stack, type AdapterModel, type SetupNode } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addClassificationHead, getHeads } from '@adapterkit/training';
import { mixedForward } from './mixed';
import { rowHeadLogits } from './row-heads';
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

  it('classification heads of different adapters: one per-row head pass gives each row its own head\'s logits', () => {
    const heads = getHeads(model);
    const named = { lora: 2, ia3: 2, prefix_tuning: 2, pfeiffer: 3 } as const;
    Object.entries(named).forEach(([name, numLabels], i) => addClassificationHead(model, name, { numLabels, seed: 7 + i }));
    addClassificationHead(model, 'union', { numLabels: 2, usePooler: true, seed: 20 });
    try {
      /** The head's logits for one row run alone. */
      const aloneLogits = (setup: string, inputIds: number[]): number[] => {
        model.setActiveAdapters(setup);
        return tf.tidy(() => {
          const out = model.forward({ inputIds: tf.tensor2d([inputIds], [1, inputIds.length], 'int32') });
          return (heads.require(setup).forward(out).arraySync() as number[][])[0]!;
        });
      };
      const check = (setups: string[]): void => {
        const rows = setups.map((setup, i) => ({ setup, inputIds: ids(3 + ((i * 3) % 7), 40 + i), outputs: 'logits' as const }));
        const before = tf.memory().numTensors;
        const got = mixedForward(model, rows);
        expect(tf.memory().numTensors).toBe(before);
        rows.forEach((r, i) => {
          expect(got[i]!.headType).toBe('classification');
          expect(got[i]!.lastHiddenState).toEqual([]);
          expect(maxDiff(got[i]!.logits, aloneLogits(r.setup, r.inputIds)), `row ${i} (${r.setup})`).toBeLessThan(1e-4);
        });
      };
      check(['lora', 'ia3', 'lora', 'prefix_tuning', 'ia3']); // one per-row pass
      check(['lora', 'pfeiffer', 'ia3']); // 2 and 3 labels: one head per group
      // the heads differ, so sharing a pass could not give every row its own logits by accident
      const x = ids(6, 3);
      expect(maxDiff(aloneLogits('lora', x), aloneLogits('ia3', x))).toBeGreaterThan(1e-3);
    } finally {
      for (const name of [...Object.keys(named), 'union']) heads.delete(name);
    }
  });
});

describe('rowHeadLogits', () => {
  it('equals each head on its rows (first token or pooler), and declines heads that cannot share a pass', () => {
    const heads = getHeads(model);
    const made = [
      addClassificationHead(model, 'lora', { numLabels: 2, seed: 1 }),
      addClassificationHead(model, 'ia3', { numLabels: 2, seed: 2 }),
      addClassificationHead(model, 'pfeiffer', { numLabels: 2, multilabel: true, seed: 3 }),
      addClassificationHead(model, 'houlsby', { numLabels: 2, usePooler: true, seed: 4 }),
      addClassificationHead(model, 'parallel', { numLabels: 2, usePooler: true, seed: 5 }),
      addClassificationHead(model, 'union', { numLabels: 4, seed: 6 }),
    ];
    const [a, b, multi, p1, p2, four] = made;
    try {
      model.setActiveAdapters(null);
      const out = model.forward({ inputIds: tf.tensor2d([ids(5, 1), ids(5, 2), ids(5, 3)], [3, 5], 'int32') });
      const sizes = [2, 1];
      const before = tf.memory().numTensors;
      for (const pair of [[a!, b!], [p1!, p2!]]) {
        const got = rowHeadLogits(pair, sizes, out)!;
        expect(got.shape).toEqual([3, 2]);
        let start = 0;
        pair.forEach((head, g) => {
          const diff = tf.tidy(() => {
            const part = { lastHiddenState: tf.slice(out.lastHiddenState, [start, 0, 0], [sizes[g]!, -1, -1]), poolerOutput: tf.slice(out.poolerOutput!, [start, 0], [sizes[g]!, -1]) };
            return maxDiff(tf.slice(got, [start, 0], [sizes[g]!, -1]).arraySync(), head.forward(part).arraySync());
          });
          expect(diff, `${head.name}`).toBeLessThan(1e-5);
          start += sizes[g]!;
        });
        got.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(rowHeadLogits([a!, four!], sizes, out)).toBeUndefined(); // 2 vs 4 labels
      expect(rowHeadLogits([a!, multi!], sizes, out)).toBeUndefined(); // classification vs multi-label
      expect(rowHeadLogits([a!, p1!], sizes, out)).toBeUndefined(); // first token vs pooler
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose(Object.values(out) as tf.Tensor[]);
    } finally {
      for (const h of made) heads.delete(h.name);
    }
  });
});
