import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { linear, Stack, type AdapterModel, type ModelInputs, type ModelOutputs } from '@adapterkit/core';
import { goldenInputs, maxAbsDiff } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PfeifferConfig } from '@adapterkit/bottleneck';
import { PfeifferInvConfig } from './index';
import { GOLDEN_DIR, goldenModel, randomise, standalone, type Standalone } from './test-helpers';

/**
 * A flex LM head on GPT-2 must see hidden states mapped back through the inverse of the invertible adapter
 * (`head.input`, run by the head through `model.runHook`), as the reference's flex LM heads do
 * (`invertible_adapters_forward(rev=True)` before the vocabulary projection). The host's own static head
 * (`model.forward(inputs, { lmLogits: true })`, the reference's `GPT2LMHeadModel`) applies no inverse.
 */

let model: AdapterModel;
let inputs: ModelInputs;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await goldenModel('gpt2');
  inputs = goldenInputs(GOLDEN_DIR, 'gpt2');
});

afterAll(() => {
  tf.dispose(Object.values(inputs) as tf.Tensor[]);
  model.dispose();
});

/** A stand-alone coupling block holding the same weights as adapter `name` of the model. */
function cloneOf(name: string, kind: 'nice' | 'glow'): Standalone {
  const clone = standalone(model.info.hiddenSize, PfeifferInvConfig({ invAdapter: kind }));
  for (const p of clone.params.list()) {
    const key = p.key.replace('invertible_adapters.t.', `invertible_adapters.${name}.`);
    p.variable.assign(model.requireAdapter(name).params.get(key)!.variable);
  }
  return clone;
}

/** Logits of the LM head tied to `wte`: `h · wteᵀ`, `[batch, seq, vocab]`. */
function tiedHead(h: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => linear(h, tf.transpose(model.host.wordEmbeddings) as tf.Tensor2D));
}

/** The model's outputs plus `headLogits`: what a flex LM head computes, `head.input(lastHiddenState) · wteᵀ`. */
function withOutputs<T>(fn: (out: ModelOutputs & { headLogits: tf.Tensor3D }) => T): T {
  const out = model.forward(inputs, { lmLogits: true });
  const headInput = model.runHook('head.input', out.lastHiddenState);
  const headLogits = tiedHead(headInput);
  try {
    // the static head (GPT2LMHeadModel) never applies the inverse
    const plain = tiedHead(out.lastHiddenState);
    expect(maxAbsDiff(out.logits!, plain)).toBeLessThanOrEqual(1e-5);
    plain.dispose();
    return fn({ ...out, headLogits });
  } finally {
    tf.dispose([out as never, headInput, headLogits]);
  }
}

describe("GPT-2 flex LM head: 'head.input' applies the inverse of the first adapter's invertible adapter; the static head does not", () => {
  it.each(['nice', 'glow'] as const)('%s: logits = inverse(lastHiddenState) · wteᵀ, and forward(head input) = lastHiddenState', (kind) => {
    // An adapter that is only an invertible adapter (no bottleneck module in any layer), with weights far from identity.
    model.addAdapter('inv', PfeifferInvConfig({ invAdapter: kind, leaveOut: [0, 1] }), { setActive: true });
    randomise(model.adapterParams('inv'), 21);
    expect(model.describeHooks().map((r) => r.point)).toEqual(['embeddings.output', 'head.input']);
    const clone = cloneOf('inv', kind);
    try {
      withOutputs((out) => {
        const headInput = clone.inv.inverse(out.lastHiddenState);
        const expected = tiedHead(headInput);
        const untransformed = tiedHead(out.lastHiddenState);
        expect(maxAbsDiff(out.headLogits, expected)).toBeLessThanOrEqual(1e-4);
        expect(maxAbsDiff(out.headLogits, untransformed)).toBeGreaterThan(0.05);
        // The head input maps forward onto the transformer's output: forward-then-inverse cancels.
        const roundTrip = clone.inv.forward(headInput);
        expect(maxAbsDiff(roundTrip, out.lastHiddenState)).toBeLessThanOrEqual(1e-5);
        tf.dispose([headInput, expected, untransformed, roundTrip]);
      });
    } finally {
      clone.params.dispose();
      model.deleteAdapter('inv');
    }
  });

  it("only the setup's first adapter applies its invertible adapter at the head (as at the embeddings)", () => {
    model.addAdapter('lang', PfeifferInvConfig({ leaveOut: [0, 1] }));
    model.addAdapter('task', PfeifferConfig());
    randomise(model.adapterParams('lang'), 22);
    const clone = cloneOf('lang', 'nice');
    try {
      model.setActiveAdapters(Stack('lang', 'task'));
      withOutputs((out) => {
        const expected = tf.tidy(() => tiedHead(clone.inv.inverse(out.lastHiddenState)));
        expect(maxAbsDiff(out.headLogits, expected)).toBeLessThanOrEqual(1e-4);
        expected.dispose();
      });
      for (const setup of [Stack('task', 'lang'), null]) {
        model.setActiveAdapters(setup);
        withOutputs((out) => {
          const plain = tiedHead(out.lastHiddenState);
          expect(maxAbsDiff(out.headLogits, plain)).toBeLessThanOrEqual(1e-5);
          plain.dispose();
        });
      }
    } finally {
      clone.params.dispose();
      model.deleteAdapter('lang');
      model.deleteAdapter('task');
    }
  });

  it('no tensors leak across LM forwards with an invertible adapter', () => {
    model.addAdapter('inv', PfeifferInvConfig({ invAdapter: 'glow' }), { setActive: true });
    try {
      tf.dispose(model.forward(inputs, { lmLogits: true }) as never);
      const n = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) tf.dispose(model.forward(inputs, { lmLogits: true }) as never);
      expect(tf.memory().numTensors).toBe(n);
    } finally {
      model.deleteAdapter('inv');
    }
  });
});
