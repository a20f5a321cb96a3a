import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { registerTrainingSupport } from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatPhase, runSoak, secondHalfSlope } from './soak';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
});

// The full counts (1,000 / 1,000 / 200, hidden size 64) run in `pnpm soak`; these smaller ones keep `pnpm test` quick.
describe('soak (small counts)', () => {
  it('numTensors is flat over training steps, add/delete and load/delete cycles', async () => {
    const start = tf.memory().numTensors;
    const figures = await runSoak({ trainSteps: 10, addDelete: 40, loadDelete: 15 }, undefined, { hiddenSize: 16, intermediateSize: 32 });
    expect(figures.map((f) => [f.phase, f.count])).toEqual([
      ['train', 10],
      ['addDelete', 40],
      ['loadDelete', 15],
    ]);
    for (const f of figures) {
      expect(f.tensorsAfter, f.phase).toBe(f.tensorsBefore);
      expect(f.samples.map((m) => m.ops), f.phase).toEqual(Array.from({ length: 11 }, (_, i) => Math.max(i === 0 ? 0 : 1, Math.round((i * f.count) / 10))));
    }
    const trainFigures = figures[0]!;
    expect(trainFigures.tensorsFirstStep).toBeGreaterThan(trainFigures.tensorsBefore); // optimizer state exists during training
    expect(trainFigures.tensorsLastStep).toBe(trainFigures.tensorsFirstStep);
    expect(tf.memory().numTensors).toBe(start); // the model and its adapters are freed
    expect(formatPhase(trainFigures)).toMatch(/^train\s+10 ops {2}numTensors (\d+) → \1, during: (\d+) at step 1 → \2 at step 10 {2}[\d.]+ s\n {22}RSS MiB \d+ \/ \d+ \/ \d+ \(0\/50\/100 %\), second half [+-][\d.]+ MiB per 1000; heap MiB /);
  });

  it('measures growth as the least-squares slope over the second half, per 1,000 operations', () => {
    const samples = [0, 100, 200, 300, 400].map((ops, i) => ({ ops, rssMiB: [50, 90, 100, 103, 106][i]!, heapMiB: 10 }));
    expect(secondHalfSlope(samples, 400, (s) => s.rssMiB)).toBeCloseTo(30, 6); // +3 MiB per 100 from 200 on; the warm-up is ignored
    expect(secondHalfSlope(samples, 400, (s) => s.heapMiB)).toBe(0);
  });
});
