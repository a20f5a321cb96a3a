import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@adapterkit/core';
import { CORPUS, disposeMlmBatch, maskBatch, MASK, runMadX, toCipher, WordTokenizer } from '../examples/mad-x';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The loss curve goes down: the mean of its last fifth is below the mean of its first fifth. */
function expectDecreasing(losses: readonly number[], what: string): void {
  const k = Math.max(1, Math.floor(losses.length / 5));
  expect(mean(losses.slice(-k)), what).toBeLessThan(mean(losses.slice(0, k)));
}

describe('the example corpus and tokenizer', () => {
  it('the cipher is a deterministic letter substitution; both languages fit a 200-token vocabulary', () => {
    expect(toCipher('the movie was good')).toBe('zit dgcot vql uggr');
    const english = CORPUS.map(([t]) => t);
    const tok = new WordTokenizer([...english, ...english.map(toCipher)]);
    expect(tok.vocab.length).toBeLessThanOrEqual(200);
    const { ids, mask } = tok.batch(['the movie', toCipher('the movie was good')]);
    expect(ids[0]!.length).toBe(6);
    expect(mask[0]).toEqual([1, 1, 1, 1, 0, 0]);
    expect(ids[0]![1]).not.toBe(ids[1]![1]); // 'the' and its cipher are different words
  });

  it('masking hides at least one word per sentence and never [CLS]/[SEP]/[PAD]', () => {
    const tok = new WordTokenizer(CORPUS.map(([t]) => t));
    const { ids, mask } = tok.batch(CORPUS.map(([t]) => t));
    const b = maskBatch(ids, mask, new Rng(3));
    const masked = b.inputs.inputIds.arraySync();
    const weights = b.weights.arraySync();
    masked.forEach((row, i) => {
      expect(weights[i]!.reduce((a, c) => a + c, 0)).toBeGreaterThanOrEqual(1);
      row.forEach((id, j) => expect(id === MASK).toBe(weights[i]![j] === 1 && ids[i]![j]! > MASK));
    });
    disposeMlmBatch(b);
  });
});

describe('MAD-X workflow on a tiny random BERT (examples/mad-x.ts)', () => {
  it('language adapters learn masked LM, the task adapter learns on Stack(en, task), and the swap to Stack(xx, task) runs', async () => {
    const started = Date.now();
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const r = await runMadX({ mlmSteps: 25, taskSteps: 25, log: (l) => lines.push(l) });
    console.log(lines.join('\n'));

    expect(r.adapterParams).toEqual({ en: 884, xx: 884, task: 324 });
    for (const lang of ['en', 'xx'] as const) {
      expectDecreasing(r.mlmLosses[lang], `masked-LM training loss of '${lang}'`);
      expect(r.mlmEval[lang].after, `held-out masked-LM loss of '${lang}'`).toBeLessThan(r.mlmEval[lang].before);
    }
    // As the reference's train_adapter('task') + set_active_adapters(Stack('en', 'task')): the language adapter is
    // active below the task adapter but frozen.
    expect(r.taskPhaseSummary.map(({ name, active, train }) => ({ name, active, train }))).toEqual([
      { name: 'en', active: true, train: false },
      { name: 'xx', active: false, train: false },
      { name: 'task', active: true, train: true },
    ]);
    expectDecreasing(r.taskLosses, 'task training loss');
    expect(r.taskEval.en.loss).toBeLessThan(r.taskLosses[0]!);
    for (const lang of ['en', 'xx'] as const) {
      expect(Number.isFinite(r.taskEval[lang].loss)).toBe(true);
      expect(r.taskEval[lang].accuracy).toBeGreaterThanOrEqual(0);
      expect(r.taskEval[lang].accuracy).toBeLessThanOrEqual(1);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
