import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { linear } from '@adapterkit/core';
import { availableParallelism } from 'node:os';
import { BackendError } from './errors';
import { describeBackend, initBackend } from './init';

describe('initBackend', () => {
  it('falls back from tensorflow (not installable here) to native (when installed) or wasm on all cores, and reports why and what is active', async () => {
    const info = await initBackend();
    expect(['tensorflow', 'native', 'wasm']).toContain(info.name);
    if (info.name !== 'tensorflow') {
      expect(info.skipped.map((s) => s.name).slice(0, 2)).toEqual(['tensorflow', 'webgpu']);
      if (info.name === 'wasm') {
        // @adapterkit/native is optional: absent or unloadable, it is skipped with the reason
        expect(info.skipped.find((s) => s.name === 'native')).toMatchObject({ reason: expect.stringMatching(/@adapterkit\/native(:| is not installed| failed to load)/) });
      } else {
        expect(info.package).toMatch(/^@adapterkit\/native .* on @tensorflow\/tfjs-backend-wasm /);
      }
      expect(tf.getBackend()).toBe('wasm');
      expect(info.tfBackend).toBe('wasm');
      expect(info.environment).toBe('node');
      // threads on by default in Node: every logical core (at most the 8 workers tfjs preloads)
      const cores = Math.min(availableParallelism(), 8);
      if (info.threads !== cores) {
        // the threaded module did not start (its workers failed or timed out): reported, with 1 thread
        console.warn(`wasm threads fell back: ${info.notes.join('; ')}`);
        expect(info.threads).toBe(1);
        expect(info.notes.join(' ')).toMatch(/wasm threads unavailable, running 1 thread/);
      } else {
        if (info.name === 'wasm') expect(describeBackend(info)).toBe(`wasm (@tensorflow/tfjs-backend-wasm 4.22.0${cores > 1 ? ' (threaded-simd)' : ''}, ${cores} thread${cores > 1 ? 's' : ''})`);
      }
      // the thread count is fixed per process: a later request for another count says so
      const again = await initBackend('wasm', { threads: cores + 1 });
      expect(again.threads).toBe(info.threads);
      expect(again.notes.join(' ')).toMatch(/fixed per process/);
    }
  });

  it('is a typed error for an unknown name, a bad thread count, and a backend that cannot run here', async () => {
    await expect(initBackend('webgpuu')).rejects.toMatchObject({ code: 'UNKNOWN_BACKEND', message: expect.stringMatching(/Unknown backend 'webgpuu': expected one of tensorflow, native, webgpu, webgl, wasm, cpu/) });
    await expect(initBackend('wasm', { threads: 0 })).rejects.toMatchObject({ code: 'BAD_THREADS' });
    const webgl = await initBackend('webgl').catch((e: unknown) => e);
    expect(webgl).toBeInstanceOf(BackendError);
    expect(webgl).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/WebGL needs a browser/) });
    // native is optional: where it cannot run, asking for it by name is the same typed error with the reason
    const native = await initBackend('native').catch((e: unknown) => e);
    if (native instanceof BackendError) expect(native).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: expect.stringMatching(/@adapterkit\/native/) });
    else expect(native).toMatchObject({ name: 'native', tfBackend: 'wasm' });
  });

  it('trains through linear on wasm: gradients registered, gather gradient (UnsortedSegmentSum) available', async () => {
    await initBackend('wasm');
    const table = tf.variable(tf.randomNormal([10, 4], 0, 1, 'float32', 1));
    const w = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 2));
    const ids = tf.tensor1d([1, 3, 3, 7], 'int32');
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.square(linear(tf.gather(table, ids), w as tf.Tensor2D))) as tf.Scalar, [table, w]);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    const gTable = grads[table.name]!.arraySync() as number[][];
    expect(gTable[0]!.every((v) => v === 0)).toBe(true);
    expect(gTable[3]!.some((v) => v !== 0)).toBe(true);
    expect(grads[w.name]!.shape).toEqual([4, 3]);
  });

  it('runs batched matMul (attention) through the XNNPACK slice kernel with the stock results and no leaks', async () => {
    await initBackend('wasm');
    const a = tf.randomNormal([2, 3, 5, 4], 0, 1, 'float32', 3);
    const b = tf.randomNormal([2, 3, 4, 6], 0, 1, 'float32', 4);
    const fast = tf.matMul(a, b);
    // the transposeB flag: an explicit transpose, then the same slice kernel
    const stock = tf.matMul(a, tf.transpose(b, [0, 1, 3, 2]), false, true);
    expect(fast.shape).toEqual([2, 3, 5, 6]);
    expect(tf.max(tf.abs(tf.sub(fast, stock))).dataSync()[0]).toBeLessThan(1e-5);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.matMul(a, b).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs transposeA/transposeB on wasm as explicit transposes: float64-exact results, no leaked buffers', async () => {
    await initBackend('wasm');
    /** float64 product of row-major `[batch, m, k]`·`[batch, k, n]` values. */
    const ref = (av: Float32Array, bv: Float32Array, batch: number, m: number, k: number, n: number, ta: boolean, tb: boolean): number[] => {
      const out: number[] = [];
      for (let q = 0; q < batch; q++)
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let acc = 0;
            for (let p = 0; p < k; p++) acc += av[q * m * k + (ta ? p * m + i : i * k + p)]! * bv[q * k * n + (tb ? j * k + p : p * n + j)]!;
            out.push(acc);
          }
      return out;
    };
    const be = tf.backend() as unknown as { numDataIds(): number };
    for (const batch of [[], [3], [2, 2]]) {
      for (const [m, k, n] of [[5, 4, 6], [1, 7, 1], [3, 1, 2]] as const) {
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = tf.randomNormal([...batch, ...(ta ? [k, m] : [m, k])], 0, 1, 'float32', m + k);
            const b = tf.randomNormal([...batch, ...(tb ? [n, k] : [k, n])], 0, 1, 'float32', n + 2 * k);
            const ids = be.numDataIds();
            const c = tf.matMul(a, b, ta, tb);
            expect(be.numDataIds(), 'temporaries freed').toBe(ids + 1);
            const count = batch.reduce((x, y) => x * y, 1);
            const want = ref(a.dataSync() as Float32Array, b.dataSync() as Float32Array, count, m, k, n, ta, tb);
            expect(c.shape).toEqual([...batch, m, n]);
            const got = c.dataSync();
            want.forEach((v, i) => expect(Math.abs(got[i]! - v), `[${batch}] ${m}×${k}×${n} ta=${ta} tb=${tb} @${i}`).toBeLessThan(1e-5 * (1 + Math.abs(v))));
            tf.dispose([a, b, c]);
          }
        }
      }
    }
  });

  it('clones on wasm without copying: shared buffer, values survive the original, memory released with the last user', async () => {
    await initBackend('wasm');
    const before = tf.memory();
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    expect(tf.memory().numTensors).toBe(before.numTensors + 2);
    x.dispose();
    expect(y.arraySync()).toEqual([[1, 2], [3, 4]]);
    const v = tf.variable(y);
    y.dispose();
    const next = tf.tensor2d([5, 6, 7, 8], [2, 2]);
    v.assign(next);
    next.dispose();
    expect(v.arraySync()).toEqual([[5, 6], [7, 8]]);
    v.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    // gradients through clone (the tape's Identity) are unchanged
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(tf.clone(w), tf.clone(w))) as tf.Scalar, [w]);
    expect(Array.from(grads[w.name]!.dataSync())).toEqual([2, 4, 6]);
    tf.dispose([w, grads[w.name]!]);
  });

  it('replaces the cpu UnsortedSegmentSum by the linear-time scatter-add, with the stock results', async () => {
    await initBackend('cpu');
    expect(tf.getKernel('UnsortedSegmentSum', 'cpu')!.kernelFunc.toString()).toContain('scatterAdd');
    const table = tf.variable(tf.zeros([5, 2]));
    const idx = tf.tensor1d([4, 1, 4, 9], 'int32');
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.clipByValue(idx, 0, 4)), tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8]]))))(table);
    expect(Array.from(await g.data())).toEqual([0, 0, 3, 4, 0, 0, 0, 0, 13, 16]);
    tf.dispose([table, idx, g]);
    await initBackend('wasm');
  });

  it('refuses an explicitly requested backend that is unavailable', async () => {
    await expect(initBackend('tensorflow')).rejects.toThrow(/tfjs-node/);
    // the backend in use is unchanged by a failed request
    expect(tf.getBackend()).toBe('wasm');
  });

  it('takes the backend packages from injected loaders (bundled apps) and names a failing loader', async () => {
    const calls: string[] = [];
    const info = await initBackend('cpu', { modules: { cpu: () => (calls.push('cpu'), import('@tensorflow/tfjs-backend-cpu')) } });
    expect(calls).toEqual(['cpu']);
    expect(info).toMatchObject({ name: 'cpu', tfBackend: 'cpu', package: expect.stringMatching(/^@tensorflow\/tfjs-backend-cpu 4\./) });
    const failed = await initBackend('cpu', { modules: { cpu: () => Promise.reject(new Error('chunk cpu.js failed to load')) } }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(BackendError);
    expect(failed).toMatchObject({ code: 'BACKEND_UNAVAILABLE', message: "Backend 'cpu' is not available: the loader given for cpu (options.modules.cpu) failed: chunk cpu.js failed to load" });
  });
});
