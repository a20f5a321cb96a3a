import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { AdapterKitError } from '../errors';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { AdapterModel } from './adapter-model';

describe('AdapterModel.forward with plain number[][] inputs', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('gives the same outputs as int32 tensors, and frees the tensors it made from the rows', () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    const rows = [[1, 2, 3], [4, 5, 6]];
    const mask = [[1, 1, 1], [1, 1, 0]];
    const idsT = tf.tensor2d(rows, [2, 3], 'int32');
    const maskT = tf.tensor2d(mask, [2, 3], 'int32');
    const fromTensors = model.forward({ inputIds: idsT, attentionMask: maskT });
    const before = tf.memory().numTensors;
    const fromRows = model.forward({ inputIds: rows, attentionMask: mask });
    // only the outputs are new: the int32 tensors made from the rows were freed with the intermediates
    expect(tf.memory().numTensors - before).toBe(Object.keys(fromRows).length);
    expect(fromRows.lastHiddenState.shape).toEqual([2, 3, fromTensors.lastHiddenState.shape[2]]);
    expect(Array.from(fromRows.lastHiddenState.dataSync())).toEqual(Array.from(fromTensors.lastHiddenState.dataSync()));
    // the caller's tensors are untouched
    expect(idsT.isDisposed).toBe(false);
    tf.dispose([idsT, maskT, ...Object.values(fromTensors), ...Object.values(fromRows)] as tf.Tensor[]);
    model.dispose();
  });

  it('rejects bad rows with INVALID_INPUTS naming the field and position, without leaking tensors', () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    const before = tf.memory().numTensors;
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(AdapterKitError);
        return `${(e as AdapterKitError).code}: ${(e as Error).message}`;
      }
      return undefined;
    };
    expect(code(() => model.forward({ inputIds: [[1, 2], [3]] }))).toMatch(/^INVALID_INPUTS: .*inputIds\[1\] has 1 positions, inputIds\[0\] has 2/);
    expect(code(() => model.forward({ inputIds: [[1, 2.5]] }))).toMatch(/^INVALID_INPUTS: .*inputIds\[0\]\[1\] is 2\.5/);
    expect(code(() => model.forward({ inputIds: [1, 2, 3] as unknown as number[][] }))).toMatch(/^INVALID_INPUTS: .*inputIds\[0\] is a number.*\[ids\]/);
    expect(code(() => model.forward({ inputIds: [] }))).toMatch(/^INVALID_INPUTS: .*no rows/);
    expect(code(() => model.forward({ inputIds: [[1, 2]], attentionMask: [[1, 1, 1]] }))).toMatch(/^INVALID_INPUTS: .*attentionMask has shape \[1, 3\], inputIds has \[1, 2\]/);
    expect(code(() => model.forward({} as never))).toMatch(/^INVALID_INPUTS: .*inputIds is missing/);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
