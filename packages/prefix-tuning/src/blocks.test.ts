import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterStateError, BatchSplit, CapabilityError, Parallel, Split, Stack, type AdapterModel, type ModelOutputs } from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { disposeAll, goldenInputs, goldenModel, maxAbsDiff } from './test-helpers';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Model = 'bert' | 'gpt2';

/** Two prefix adapters of different lengths (3 and 5), so slices need padding. */
async function twoPrefixes(model: Model): Promise<AdapterModel> {
  const m = await goldenModel(model);
  m.addAdapter('a', 'prefix_tuning[prefix_length=3, bottleneck_size=16]');
  m.addAdapter('b', 'prefix_tuning[prefix_length=5, flat=True]');
  return m;
}

/** Hidden states (and logits) of one adapter on some rows of the golden batch. */
function single(m: AdapterModel, model: Model, setup: string | ReturnType<typeof Stack>, rows: number[]): ModelOutputs {
  m.setActiveAdapters(setup);
  const inputs = goldenInputs(model, rows);
  const out = m.forward(inputs, { lmLogits: model === 'gpt2' });
  disposeAll(inputs);
  return out;
}

function rowsOf(t: tf.Tensor, start: number, size: number): tf.Tensor {
  return tf.slice(t, [start, ...t.shape.slice(1).map(() => 0)], [size, ...t.shape.slice(1)]);
}

describe('prefix tuning under BatchSplit and Parallel: each slice attends over its own child\'s prefixes', () => {
  it.each(['bert', 'gpt2'] as const)('%s: BatchSplit(a, b, [1, 1]) row i equals child i alone; padded prefix positions are masked', async (model) => {
    const m = await twoPrefixes(model);
    const [ra, rb] = [single(m, model, 'a', [0]), single(m, model, 'b', [1])];
    m.setActiveAdapters(BatchSplit('a', 'b', [1, 1]));
    const inputs = goldenInputs(model);
    const out = m.forward(inputs, { lmLogits: model === 'gpt2' });
    const field = model === 'gpt2' ? 'logits' : 'lastHiddenState';
    const [o0, o1] = [rowsOf(out[field]!, 0, 1), rowsOf(out[field]!, 1, 1)];
    expect(maxAbsDiff(o0, ra[field]!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(o1, rb[field]!)).toBeLessThan(1e-5);
    tf.dispose([o0, o1]);
    [ra, rb, out, inputs].forEach(disposeAll);
    m.dispose();
  });

  it('Parallel(a, Stack(a, b)): the batch is replicated per channel, channel i equals child i alone', async () => {
    const m = await twoPrefixes('bert');
    const [ra, rab] = [single(m, 'bert', 'a', [0, 1]), single(m, 'bert', Stack('a', 'b'), [0, 1])];
    m.setActiveAdapters(Parallel('a', Stack('a', 'b')));
    const inputs = goldenInputs('bert');
    const start = tf.memory().numTensors;
    const out = m.forward(inputs);
    expect(out.lastHiddenState.shape).toEqual([4, 12, 32]);
    expect(out.poolerOutput!.shape).toEqual([4, 32]);
    const [c0, c1] = [rowsOf(out.lastHiddenState, 0, 2), rowsOf(out.lastHiddenState, 2, 2)];
    expect(maxAbsDiff(c0, ra.lastHiddenState)).toBeLessThan(1e-5);
    expect(maxAbsDiff(c1, rab.lastHiddenState)).toBeLessThan(1e-5);
    tf.dispose([c0, c1]);
    disposeAll(out);
    expect(tf.memory().numTensors).toBe(start);
    [ra, rab, inputs].forEach(disposeAll);
    m.dispose();
  });

  it('gated prefixes slice the attention input with the batch', async () => {
    const m = await goldenModel('bert');
    m.addAdapter('g', 'prefix_tuning[prefix_length=2, bottleneck_size=8, use_gating=True]');
    m.addAdapter('h', 'prefix_tuning[prefix_length=4, bottleneck_size=8, use_gating=True, shared_gating=False]');
    const [rg, rh] = [single(m, 'bert', 'g', [0]), single(m, 'bert', 'h', [1])];
    m.setActiveAdapters(BatchSplit('g', 'h', [1, 1]));
    const inputs = goldenInputs('bert');
    const out = m.forward(inputs);
    const [o0, o1] = [rowsOf(out.lastHiddenState, 0, 1), rowsOf(out.lastHiddenState, 1, 1)];
    expect(maxAbsDiff(o0, rg.lastHiddenState)).toBeLessThan(1e-5);
    expect(maxAbsDiff(o1, rh.lastHiddenState)).toBeLessThan(1e-5);
    tf.dispose([o0, o1]);
    [rg, rh, out, inputs].forEach(disposeAll);
    m.dispose();
  });

  it('unsupported blocks fail at setActiveAdapters; wrong batch sizes fail in the forward', async () => {
    const m = await twoPrefixes('bert');
    expect(() => m.setActiveAdapters(Split('a', 'b', 4))).toThrow(CapabilityError);
    expect(() => m.setActiveAdapters(Split('a', 'b', 4))).toThrow(/'prefix_tuning' .* does not support the Split block at 'attention\.kv'/);
    m.setActiveAdapters(BatchSplit('a', 'b', [2, 1]));
    const inputs = goldenInputs('bert');
    expect(() => m.forward(inputs)).toThrow(AdapterStateError);
    expect(() => m.forward(inputs)).toThrow(/batch_sizes \[2, 1\] add up to 3, but the batch at 'attention\.kv' \(layer 0\) has 2 rows/);
    disposeAll(inputs);
    m.dispose();
  });
});
