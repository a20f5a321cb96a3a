import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Stack } from '../composition/blocks';
import { defineAdapterMethod, type AdapterConfigBase } from '../method/define';
import { defineMethodExtension } from '../method/extension';
import { CapabilityError } from '../errors';
import { registerTrainingSupport } from '../nn/kernels';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { AdapterModel } from './adapter-model';

const ids = (): tf.Tensor2D => tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');

describe('AdapterModel: AdapterDrop, model-level hooks, setup callbacks', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    await registerTrainingSupport();
  });

  it('skipLayers drops every adapter from those layers', () => {
    const calls: string[] = [];
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod(calls)] });
    model.addAdapter('a', 'toy');
    model.setActiveAdapters('a', { skipLayers: [0] });
    tf.dispose(model.forward({ inputIds: ids() }).lastHiddenState);
    expect(calls).toEqual(['a:ffn.output:1']);
    expect(() => model.setActiveAdapters('a', { skipLayers: [5] })).toThrow(/skipLayers: 5/);
    model.dispose();
  });

  it('runHook runs model-level points with the setup; handlers see the first adapter of the setup', () => {
    const seen: Array<string | undefined> = [];
    const method = defineAdapterMethod<{ method: 'head-probe'; k: number }>({
      name: 'head-probe',
      architecture: 'head_probe',
      fields: { k: { type: 'float' } },
      defaults: { k: 2 },
      hooks: ['head.input'],
      meta: { package: 'test', version: '0', apiVersion: 1 },
      create: ({ config, name }) => ({
        handlers: {
          'head.input': () => (x, next, ctx) => {
            seen.push(`${name}:${ctx.forward.firstAdapter}`);
            return next(tf.mul(x, config.k) as tf.Tensor3D);
          },
        },
      }),
    });
    const model = new AdapterModel(createToyHost(), { methods: [method] });
    model.addAdapter('p', { method: 'head-probe', k: 3 });
    model.addAdapter('q', { method: 'head-probe', k: 5 });
    model.setActiveAdapters(Stack('q', 'p'));
    const x = tf.ones([1, 2, 8]) as tf.Tensor3D;
    const y = model.runHook('head.input', x);
    expect(y.dataSync()[0]).toBe(15);
    expect(seen).toEqual(['q:q', 'p:q']);
    model.dispose();
  });

  it('notifies instances entering and leaving the active setup, and runs dispose callbacks', () => {
    const events: string[] = [];
    const method = defineAdapterMethod<{ method: 'notify'; k: number }>({
      name: 'notify',
      architecture: 'notify',
      fields: { k: { type: 'int' } },
      defaults: { k: 1 },
      hooks: [],
      meta: { package: 'test', version: '0', apiVersion: 1 },
      create: ({ name }) => ({ handlers: {}, onSetupChange: (active) => events.push(`${name}:${active}`) }),
    });
    const model = new AdapterModel(createToyHost(), { methods: [method] });
    model.addAdapter('a', { method: 'notify' });
    model.addAdapter('b', { method: 'notify' });
    model.setActiveAdapters('a');
    model.setActiveAdapters(Stack('a', 'b'));
    model.setActiveAdapters('b');
    model.deleteAdapter('b');
    let disposed = false;
    model.onDispose(() => (disposed = true));
    model.dispose();
    expect(events).toEqual(['a:true', 'b:true', 'a:false', 'b:false']);
    expect(disposed).toBe(true);
  });

  it('computes the gather gradient (UnsortedSegmentSum) on cpu', () => {
    const table = tf.variable(tf.zeros([5, 2]));
    const idx = tf.tensor1d([4, 1, 4], 'int32');
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), tf.tensor2d([[1, 2], [3, 4], [5, 6]]))))(table);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 3, 4, 0, 0, 0, 0, 6, 8]);
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')).toBeDefined();
  });

  it("checks an extension's hook points when a config uses it, and frees what was built", () => {
    interface ExtConfig extends AdapterConfigBase {
      readonly method: 'with-ext';
      readonly useExtra: boolean;
    }
    const withExt = defineAdapterMethod<ExtConfig>({
      name: 'with-ext',
      architecture: 'with_ext',
      fields: { useExtra: { type: 'bool' } },
      defaults: { useExtra: false },
      hooks: ['ffn.output'],
      extensionPoints: ['extra'],
      meta: { package: '@adapterkit/core-test', version: '0.0.0', apiVersion: 1 },
      create({ name, config, host, params, extensions }) {
        params.add(`${name}.w`, tf.ones([host.hiddenSize]));
        if (config.useExtra) extensions.get('extra');
        return { handlers: {} };
      },
    });
    const extra = defineMethodExtension({
      name: 'extra-embeddings',
      extends: 'with-ext',
      point: 'extra',
      hooks: ['embeddings.output'],
      impl: {},
      meta: { package: '@adapterkit/extra-test', version: '0.0.0', apiVersion: 1 },
    });
    const model = new AdapterModel(createToyHost(1, ['attention.output', 'ffn.output']), { methods: [withExt, extra] });
    const before = tf.memory().numTensors;
    model.addAdapter('plain', { method: 'with-ext', useExtra: false } as ExtConfig);
    const err = (() => {
      try {
        model.addAdapter('x', { method: 'with-ext', useExtra: true } as ExtConfig);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(CapabilityError);
    expect((err as Error).message).toMatch(/Extension 'extra-embeddings' \(@adapterkit\/extra-test\) of method 'with-ext' needs hook point\(s\) embeddings\.output, which the \S+ host does not provide/);
    expect(model.adapterNames()).toEqual(['plain']);
    model.deleteAdapter('plain');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
