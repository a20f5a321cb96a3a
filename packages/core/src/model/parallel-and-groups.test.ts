import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchSplit, blockRowSizes, Fuse, Parallel, Stack, parallelChannels } from '../composition/blocks';
import type { BlockImplementations } from '../method/blocks';
import { defineAdapterMethod } from '../method/define';
import { createToyHost } from '../testing/toy';
import { AdapterModel } from './adapter-model';
import { ParamCollector } from './params';

const ids = (): tf.Tensor2D => tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');

/** A method that adds `k` at `ffn.output` and routes Parallel channels (rows `[i·B, (i+1)·B)`) to its children. */
const addK = (() => {
  const blocks: BlockImplementations = {
    Parallel: {
      'ffn.output': ({ children, context }) => (payload, next) => {
        const n = children.length;
        const rows = payload.hidden.shape[0] / n;
        expect(context('a').forward.parallelChannels).toBe(n);
        const parts = children.map((c, i) => {
          const slice = (t: tf.Tensor3D): tf.Tensor3D => tf.slice(t, [i * rows, 0, 0], [rows, -1, -1]);
          const sub = { hidden: slice(payload.hidden), residual: slice(payload.residual), skipAddNorm: true };
          return c.step ? c.step(sub, (p) => p.hidden) : sub.hidden;
        });
        return next({ ...payload, hidden: tf.concat(parts, 0) as tf.Tensor3D });
      },
    },
  };
  return defineAdapterMethod<{ method: 'add-k'; k: number }>({
    name: 'add-k',
    architecture: 'add_k',
    fields: { k: { type: 'float' } },
    defaults: { k: 1 },
    hooks: ['ffn.output'],
    blocks,
    meta: { package: 'test', version: '0', apiVersion: 1 },
    create: ({ config }) => ({ handlers: { 'ffn.output': () => (p, next) => next({ ...p, hidden: tf.add(p.hidden, config.k) as tf.Tensor3D }) } }),
  });
})();

describe('Parallel setups: the batch is replicated at embeddings.output', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('parallelChannels counts the Parallel block and rejects mixed widths', () => {
    expect(parallelChannels(Stack('a'))).toBe(1);
    expect(parallelChannels(Stack('x', Parallel('a', 'b', 'c')))).toBe(3);
    expect(() => parallelChannels(Stack(Parallel('a', 'b'), Parallel('c', 'd', 'e')))).toThrow(/different widths \(2 and 3/);
  });

  it('blockRowSizes: rows per child of BatchSplit and Parallel, with errors naming point and layer', () => {
    const at = { point: 'ffn.output', layer: 2 };
    expect(blockRowSizes(BatchSplit('a', 'b', [1, 3]), 4, at)).toEqual([1, 3]);
    expect(() => blockRowSizes(BatchSplit('a', 'b', [1, 2]), 4, at)).toThrow(/add up to 3, but the batch at 'ffn\.output' \(layer 2\) has 4 rows/);
    expect(blockRowSizes(Parallel('a', 'b', 'c'), 6, at)).toEqual([2, 2, 2]);
    expect(() => blockRowSizes(Parallel('a', 'b'), 3, at)).toThrow(/Parallel of 2 channels at 'ffn\.output' \(layer 2\) got 3 rows/);
    expect(() => blockRowSizes(Fuse('a', 'b'), 2, at)).toThrow(/Fuse block does not route batch rows/);
  });

  it('every point after the embeddings sees channels × batch rows; channel i equals the single-adapter run', () => {
    const model = new AdapterModel(createToyHost(), { methods: [addK] });
    model.addAdapter('a', { method: 'add-k', k: 1 });
    model.addAdapter('b', { method: 'add-k', k: -2 });
    const single = (name: string): tf.Tensor3D => {
      model.setActiveAdapters(name);
      return model.forward({ inputIds: ids() }).lastHiddenState;
    };
    const [ya, yb] = [single('a'), single('b')];
    model.setActiveAdapters(Parallel('a', 'b'));
    const inputIds = ids();
    const before = tf.memory().numTensors;
    const y = model.forward({ inputIds }).lastHiddenState;
    expect(y.shape).toEqual([4, 3, 8]);
    const diffs = tf.tidy(() => {
      const [first, second] = tf.split(y, 2, 0);
      return [tf.max(tf.abs(tf.sub(first!, ya))).dataSync()[0], tf.max(tf.abs(tf.sub(second!, yb))).dataSync()[0]];
    });
    expect(diffs[0]).toBeLessThan(1e-6);
    expect(diffs[1]).toBeLessThan(1e-6);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ya, yb, inputIds]);
    model.dispose();
  });

  it('a host without embeddings.output cannot run a Parallel setup', () => {
    const model = new AdapterModel(createToyHost(1, ['attention.output', 'ffn.output']), { methods: [addK] });
    model.addAdapter('a', { method: 'add-k' });
    model.addAdapter('b', { method: 'add-k' });
    expect(() => model.setActiveAdapters(Parallel('a', 'b'))).toThrow(/Parallel setup needs hook point embeddings\.output/);
    model.dispose();
  });
});

describe('parameter groups (parameters outside adapters, e.g. fusion layers)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('start frozen, are listed by trainableVariables when trainable, frozen by trainAdapter and freezeAdapters, freed on delete/dispose', () => {
    const model = new AdapterModel(createToyHost(), { methods: [addK] });
    model.addAdapter('a', { method: 'add-k' });
    const start = tf.memory().numTensors;
    const group = new ParamCollector('fusion:a');
    const w = group.add('encoder.layer.0.output.adapter_fusion_layer.a.query.weight', tf.ones([8, 8]), { layout: 'linear' });
    model.addParamGroup('fusion:a', group);
    expect(model.paramGroupIds()).toEqual(['fusion:a']);
    expect(model.paramGroup('fusion:a')).toBe(group);
    expect(w.trainable).toBe(false);
    expect(() => model.addParamGroup('fusion:a', new ParamCollector('x'))).toThrow(/already exists/);
    w.trainable = true;
    expect(model.trainableVariables()).toContain(w);
    model.trainAdapter('a');
    expect(w.trainable).toBe(false);
    expect(model.trainableVariables()).not.toContain(w);
    w.trainable = true; // as trainAdapterFusion leaves it
    model.freezeAdapters();
    expect(model.trainableVariables()).toEqual([]); // neither the adapter trainAdapter unfroze nor the group
    model.deleteParamGroup('fusion:a');
    expect(tf.memory().numTensors).toBe(start);
    expect(() => model.deleteParamGroup('fusion:a')).toThrow(/No parameter group 'fusion:a'/);
    model.addParamGroup('g', new ParamCollector('g'));
    const k = model.paramGroup('g')!.add('k', tf.zeros([2]));
    model.dispose();
    expect(k.isDisposed).toBe(true);
  });
});
