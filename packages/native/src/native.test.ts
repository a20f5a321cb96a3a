import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@adapterkit/backends';
import { binaryPlan, collapseTranspose, reducePlan } from './kernels';
import { NativeKernelError, installNativeKernels, nativeKernelsInstalled, nativeStatus, uninstallNativeKernels } from './index';

const status = nativeStatus();

/** Deterministic uniform values in [-1, 1). */
function rand(shape: number[], seed: number): tf.Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = s / 2 ** 31 - 1;
  }
  return tf.tensor(v, shape, 'float32');
}

/** float64 reference of matMul with numpy batch broadcasting (the stock wasm kernel indexes batches modulo). */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): { shape: number[]; values: Float64Array } {
  const av = a.dataSync();
  const bv = b.dataSync();
  const ra = a.rank;
  const rb = b.rank;
  const m = ta ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = ta ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const n = tb ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const ab = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const rank = Math.max(ab.length, bb.length);
  const pa = [...Array<number>(rank - ab.length).fill(1), ...ab];
  const pb = [...Array<number>(rank - bb.length).fill(1), ...bb];
  const ob = pa.map((d, i) => (d === 1 ? pb[i]! : d));
  const count = ob.reduce((x, y) => x * y, 1);
  const out = new Float64Array(count * m * n);
  for (let bi = 0; bi < count; bi++) {
    let rem = bi;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const idx = rem % ob[i]!;
      rem = Math.floor(rem / ob[i]!);
      if (pa[i] !== 1) ia += idx * sa;
      if (pb[i] !== 1) ib += idx * sb;
      sa *= pa[i]!;
      sb *= pb[i]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          const x = av[ia * m * k + (ta ? p * m + i : i * k + p)]!;
          const y = bv[ib * k * n + (tb ? j * k + p : p * n + j)]!;
          acc += x * y;
        }
        out[bi * m * n + i * n + j] = acc;
      }
    }
  }
  return { shape: [...ob, m, n], values: out };
}

function expectClose(got: tf.Tensor, want: { shape: number[]; values: ArrayLike<number> }, what: string): void {
  expect(got.shape, what).toEqual(want.shape);
  const g = got.dataSync();
  let worst = 0;
  for (let i = 0; i < g.length; i++) worst = Math.max(worst, Math.abs(g[i]! - want.values[i]!) / (1 + Math.abs(want.values[i]!)));
  expect(worst, what).toBeLessThan(1e-5);
}

/** Result of `fn` with the stock wasm kernels (native uninstalled) and with the native ones. */
function stockAndNative(fn: () => tf.Tensor): { stock: { shape: number[]; values: Float32Array }; native: tf.Tensor } {
  uninstallNativeKernels();
  const s = fn();
  const stock = { shape: s.shape, values: s.dataSync() as Float32Array };
  s.dispose();
  installNativeKernels({ threads: 2 });
  return { stock, native: fn() };
}

describe.skipIf(!status.available)(`@adapterkit/native kernels vs wasm (${status.available ? status.blas : `SKIPPED, addon unavailable: ${status.reason}`})`, () => {
  beforeAll(async () => {
    const info = await initBackend('native', { threads: 2 });
    expect(info.tfBackend).toBe('wasm');
    expect(nativeKernelsInstalled()).toBe(true);
  });
  afterAll(() => uninstallNativeKernels());

  it('BatchMatMul matches the wasm kernel on random 2-D and batched shapes with every transpose', () => {
    let seed = 1;
    const dims = [1, 2, 7, 33, 64, 97];
    for (const [batchA, batchB] of [[[], []], [[3], [3]], [[2, 3], [2, 3]], [[4], [1]], [[1], [5]], [[2, 3], [3]], [[], [4]]] as Array<[number[], number[]]>) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const m = dims[seed % dims.length]!;
          const k = dims[(seed * 7 + 3) % dims.length]!;
          const n = dims[(seed * 5 + 1) % dims.length]!;
          seed++;
          const before = tf.memory().numTensors;
          const a = rand([...batchA, ...(ta ? [k, m] : [m, k])], seed * 11);
          const b = rand([...batchB, ...(tb ? [n, k] : [k, n])], seed * 13);
          const what = `a [${a.shape}]${ta ? 'ᵀ' : ''} · b [${b.shape}]${tb ? 'ᵀ' : ''}`;
          const { stock, native } = stockAndNative(() => tf.matMul(a, b, ta, tb));
          expectClose(native, stock, `${what} vs wasm`);
          expectClose(native, reference(a, b, ta, tb), `${what} vs float64`);
          tf.dispose([a, b, native]);
          expect(tf.memory().numTensors).toBe(before);
        }
      }
    }
  });

  it('broadcasts batch dimensions numpy-style where both sides have a non-1 axis', () => {
    // [3,1]·[1,4] batches: the stock kernels index the flattened batch modulo its size, so compare with float64 only
    const a = rand([3, 1, 5, 6], 3);
    const b = rand([1, 4, 6, 2], 4);
    const out = tf.matMul(a, b);
    expectClose(out, reference(a, b, false, false), '[3,1,5,6]·[1,4,6,2]');
    tf.dispose([a, b, out]);
  });

  it('handles empty dimensions, 1-wide operands and views after reshape', () => {
    const cases: Array<[number[], number[], boolean, boolean]> = [
      [[0, 4], [4, 3], false, false],
      [[2, 0], [0, 3], false, false], // k = 0: zeros
      [[2, 4], [4, 0], false, false],
      [[0, 2, 4], [0, 4, 3], false, false],
      [[1, 1], [1, 1], false, false],
      [[1, 9], [9, 1], false, false],
      [[9, 1], [1, 9], false, false],
      [[5, 1], [5, 1], true, false],
      [[3, 1, 7], [3, 1, 7], true, false],
      [[3, 7, 1], [3, 7, 1], false, true],
    ];
    for (const [sa, sb, ta, tb] of cases) {
      const a = rand(sa, 21);
      const b = rand(sb, 22);
      const { stock, native } = stockAndNative(() => tf.matMul(a, b, ta, tb));
      expectClose(native, stock, `[${sa}]${ta ? 'ᵀ' : ''}·[${sb}]${tb ? 'ᵀ' : ''}`);
      expectClose(native, reference(a, b, ta, tb), `[${sa}]·[${sb}] vs float64`);
      tf.dispose([a, b, native]);
    }
    // views: reshape shares the buffer; slice/transpose outputs; a tensor reused as both operands
    const x = rand([2, 3, 8, 5], 31);
    const y = rand([6, 5, 4], 32);
    const { stock, native } = stockAndNative(() => tf.tidy(() => tf.matMul(tf.reshape(x, [6, 8, 5]), y)));
    expectClose(native, stock, 'reshaped view');
    const sliced = stockAndNative(() => tf.tidy(() => tf.matMul(tf.slice(tf.reshape(x, [48, 5]), [7, 0], [13, 5]), tf.transpose(tf.reshape(y, [24, 5])))));
    expectClose(sliced.native, sliced.stock, 'slice · transpose');
    const self = stockAndNative(() => tf.matMul(x, x, false, true));
    expectClose(self.native, self.stock, 'x · xᵀ');
    tf.dispose([x, y, native, sliced.native, self.native]);
  });

  it('_FusedMatMul: bias and every fusable activation match the composed wasm kernels (prelu falls back)', () => {
    // compared with matMul + add + activation on the stock kernels: the stock wasm _FusedMatMul itself adds the
    // bias wrongly on batched operands (it indexes the bias past n for batch 2 and up)
    const a = rand([2, 17, 12], 41);
    const b = rand([2, 12, 9], 42);
    const bias = rand([9], 43);
    const one = rand([1], 44);
    const alpha = rand([9], 45);
    const act: Record<string, (x: tf.Tensor) => tf.Tensor> = {
      linear: (x) => x,
      relu: (x) => tf.relu(x),
      relu6: (x) => tf.relu6(x),
      leakyrelu: (x) => tf.leakyRelu(x, 0.3),
      sigmoid: (x) => tf.sigmoid(x),
      elu: (x) => tf.elu(x),
      prelu: (x) => tf.prelu(x, alpha),
    };
    for (const activation of ['linear', 'relu', 'relu6', 'leakyrelu', 'sigmoid', 'elu', 'prelu'] as const) {
      for (const [bb, ta, tb] of [[bias, false, false], [one, false, true], [undefined, true, false]] as Array<[tf.Tensor | undefined, boolean, boolean]>) {
        const A = ta ? tf.transpose(a, [0, 2, 1]) : a;
        const B = tb ? tf.transpose(b, [0, 2, 1]) : b;
        uninstallNativeKernels();
        const composed = tf.tidy(() => act[activation]!(bb ? tf.add(tf.matMul(A, B, ta, tb), bb) : tf.matMul(A, B, ta, tb)));
        const want = { shape: composed.shape, values: composed.dataSync() };
        installNativeKernels({ threads: 2 });
        const native = tf.fused.matMul({ a: A as tf.Tensor3D, b: B as tf.Tensor3D, transposeA: ta, transposeB: tb, ...(bb ? { bias: bb } : {}), activation, leakyreluAlpha: 0.3, ...(activation === 'prelu' ? { preluActivationWeights: alpha } : {}) });
        // prelu runs the stock fused kernel (with its batched-bias bug): compared without a bias only
        if (activation !== 'prelu' || !bb) expectClose(native, want, `${activation} bias [${bb?.shape ?? 'none'}] ta=${ta} tb=${tb}`);
        tf.dispose([composed, native, ...(A !== a ? [A] : []), ...(B !== b ? [B] : [])]);
      }
    }
    tf.dispose([a, b, bias, one, alpha]);
  });

  it('Exp and Erf match the wasm kernels (edge values included)', () => {
    const special = tf.tensor1d([0, -0, 1e-8, -1e-8, 88, 88.8, -87, -87.4, -200, 200, 3.9, -3.9, 10, -10, Number.NaN]);
    const x = tf.mul(rand([3, 1000], 81), 12);
    const empty = tf.zeros([0, 4]);
    for (const t of [special, x, empty]) {
      const e = stockAndNative(() => tf.exp(t));
      const ev = e.native.dataSync();
      e.stock.values.forEach((v, i) => {
        if (Number.isNaN(v)) expect(ev[i]).toBeNaN();
        else if (!Number.isFinite(v)) expect(ev[i]).toBe(v);
        else if (v < 1.2e-38) expect(Math.abs(ev[i]! - v)).toBeLessThan(1.2e-38); // below FLT_MIN native flushes to 0
        else expect(Math.abs(ev[i]! - v) / v, `exp(${t.dataSync()[i]})`).toBeLessThan(1e-6);
      });
      const r = stockAndNative(() => tf.erf(t));
      const rv = r.native.dataSync();
      r.stock.values.forEach((v, i) => (Number.isNaN(v) ? expect(rv[i]).toBeNaN() : expect(Math.abs(rv[i]! - v), `erf(${t.dataSync()[i]})`).toBeLessThan(1e-6)));
      tf.dispose([e.native, r.native]);
    }
    tf.dispose([special, x, empty]);
  });

  it('Square, Neg, Sqrt, Rsqrt and Softmax match the wasm kernels (edge values, 1-wide and empty included)', () => {
    const special = tf.tensor1d([0, -0, 1e-30, -1, 4, 1e30, Number.POSITIVE_INFINITY, Number.NaN]);
    const x = tf.mul(rand([7, 300], 700), 5);
    const empty = tf.zeros([0, 3]);
    const ops: Array<[string, (t: tf.Tensor) => tf.Tensor]> = [['square', tf.square], ['neg', tf.neg], ['sqrt', tf.sqrt], ['rsqrt', tf.rsqrt]];
    for (const t of [special, x, empty]) {
      for (const [name, op] of ops) {
        const { stock, native } = stockAndNative(() => op(t));
        const nv = native.dataSync();
        expect(native.shape).toEqual(stock.shape);
        stock.values.forEach((v, i) => {
          const what = `${name}(${t.dataSync()[i]})`;
          if (Number.isNaN(v)) expect(nv[i], what).toBeNaN();
          else if (!Number.isFinite(v)) expect(nv[i], what).toBe(v);
          else expect(Math.abs(nv[i]! - v), what).toBeLessThanOrEqual(1e-6 * Math.abs(v));
        });
        native.dispose();
      }
    }
    const logits: tf.Tensor[] = [
      tf.mul(rand([16, 4, 9, 37], 701), 20), rand([5, 1], 702), rand([3, 8], 703), tf.zeros([0, 5]), tf.zeros([4, 0]),
      tf.tensor2d([[1e30, -1e30, 0, 3], [-100, -100, -100, -100]]), rand([6], 704),
    ];
    for (const t of logits) {
      const { stock, native } = stockAndNative(() => tf.softmax(t));
      expect(native.shape).toEqual(stock.shape);
      const nv = native.dataSync();
      stock.values.forEach((v, i) => expect(Math.abs(nv[i]! - v), `softmax [${t.shape}] @${i}`).toBeLessThan(1e-6));
      native.dispose();
    }
    const ints = tf.tensor1d([1, -2], 'int32');
    const neg = tf.neg(ints); // int32: the wasm kernel
    expect([neg.dtype, ...neg.dataSync()]).toEqual(['int32', -1, 2]);
    tf.dispose([special, x, empty, ...logits, ints, neg]);
  });

  it('Add/Sub/Multiply/RealDiv match the wasm kernels on same-shape, scalar, row and column broadcasts', () => {
    const shapes: Array<[number[], number[]]> = [
      [[16, 8, 12], [16, 8, 12]], [[16, 8, 12], []], [[], [5, 7]], [[16, 8, 12], [12]], [[12], [4, 12]],
      [[16, 8, 12], [16, 8, 1]], [[16, 8, 1], [16, 8, 12]], [[6, 1], [1, 9]], [[3, 1, 5], [1, 4, 5]], [[4, 1, 1, 7], [4, 3, 2, 7]],
      [[0, 3], [3]], [[1], [1]], [[2, 3], [2, 3]],
    ];
    let seed = 90;
    for (const [sa, sb] of shapes) {
      const a = rand(sa, seed++);
      const b = tf.add(tf.abs(rand(sb, seed++)), 0.5); // away from 0 for RealDiv
      for (const op of [tf.add, tf.sub, tf.mul, tf.div]) {
        const { stock, native } = stockAndNative(() => op(a, b));
        expectClose(native, stock, `${op.name} [${sa}] [${sb}]`);
        native.dispose();
      }
      tf.dispose([a, b]);
    }
    const i = tf.tensor1d([1, 2, 3], 'int32');
    const sum = tf.add(i, i);
    expect([sum.dtype, ...sum.dataSync()]).toEqual(['int32', 2, 4, 6]);
    tf.dispose([i, sum]);
  });

  it('plans broadcasts as [outer, inner] views and leaves the others to wasm', () => {
    expect(binaryPlan([16, 8, 12], [12])).toEqual({ out: [16, 8, 12], outer: 128, inner: 12, aMode: 0, bMode: 1 });
    expect(binaryPlan([16, 8, 12], [16, 8, 1])).toEqual({ out: [16, 8, 12], outer: 128, inner: 12, aMode: 0, bMode: 2 });
    expect(binaryPlan([2, 3], [])).toEqual({ out: [2, 3], outer: 1, inner: 6, aMode: 0, bMode: 3 });
    expect(binaryPlan([6, 1], [1, 9])).toEqual({ out: [6, 9], outer: 6, inner: 9, aMode: 2, bMode: 1 });
    expect(binaryPlan([3, 1, 5], [1, 4, 5])).toBeUndefined();
    expect(binaryPlan([3, 2], [4, 2])).toBeUndefined();
  });

  it('Transpose matches the wasm kernel on every permutation of rank 2–4 (size-1 and adjacent axes included)', () => {
    const perms = (n: number): number[][] => (n === 1 ? [[0]] : perms(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)])));
    let seed = 300;
    for (const shape of [[37, 45], [1, 33], [16, 7, 4, 9], [3, 1, 40, 2], [2, 33, 35], [5, 0, 3]]) {
      const x = rand(shape, seed++);
      for (const perm of perms(shape.length)) {
        const { stock, native } = stockAndNative(() => tf.transpose(x, perm));
        expect(Array.from(native.dataSync()), `[${shape}] by [${perm}]`).toEqual(Array.from(stock.values));
        native.dispose();
      }
      x.dispose();
    }
    const ints = tf.tensor2d([[1, 2, 3], [4, 5, 6]], [2, 3], 'int32');
    const t = tf.transpose(ints);
    expect([t.dtype, ...t.dataSync()]).toEqual(['int32', 1, 4, 2, 5, 3, 6]);
    tf.dispose([ints, t]);
    expect(collapseTranspose([16, 128, 4, 64], [1, 2, 0, 3])).toEqual({ shape: [16, 512, 64], perm: [1, 0, 2] });
    expect(collapseTranspose([16, 128, 4, 64], [0, 2, 1, 3])).toEqual({ shape: [16, 128, 4, 64], perm: [0, 2, 1, 3] });
    expect(collapseTranspose([3, 1, 5], [2, 1, 0])).toEqual({ shape: [3, 5], perm: [1, 0] });
  });

  it('GatherV2 (embedding lookups) matches the wasm kernel and rejects out-of-range ids with a typed error', () => {
    const table = rand([50, 6], 400);
    const ids = tf.tensor2d([[3, 0, 49], [7, 7, 1]], [2, 3], 'int32');
    const { stock, native } = stockAndNative(() => tf.gather(table, ids));
    expect(native.shape).toEqual([2, 3, 6]);
    expect(Array.from(native.dataSync())).toEqual(Array.from(stock.values));
    const cols = stockAndNative(() => tf.gather(table, tf.tensor1d([5, 1], 'int32'), 1)); // other axes: the wasm kernel
    expect(Array.from(cols.native.dataSync())).toEqual(Array.from(cols.stock.values));
    const before = tf.memory().numTensors;
    const bad = tf.tensor1d([1, 50], 'int32');
    expect(() => tf.gather(table, bad)).toThrow(expect.objectContaining({ code: 'NATIVE_RANGE', message: expect.stringMatching(/index 50 at position 1/) }));
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([table, ids, native, cols.native, bad]);
  });

  it('Sum and Mean match the wasm kernels over leading, trailing, middle and all axes (keepDims, empty, 1-wide)', () => {
    const cases: Array<[number[], number | number[] | undefined]> = [
      [[16, 8, 37], -1], [[16, 8, 37], [2]], [[2048 / 16, 40], [0]], [[16, 8, 37], [0, 1]], [[5, 6, 7], 1], [[4, 3, 5, 6], [1, 2]],
      [[16, 4, 9, 9], [3]], [[33], undefined], [[7, 9], undefined], [[1, 9], [1]], [[9, 1], [0]], [[3, 1, 5], [0, 1]], [[1, 1], [0]],
      [[0, 5], [0]], [[5, 0], [1]], [[0, 5], [1]], [[3, 5, 4], [0, 2]], [[2, 3], []],
    ];
    let seed = 500;
    for (const [shape, axis] of cases) {
      const x = rand(shape, seed++);
      for (const keepDims of [false, true]) {
        for (const [name, op] of [['sum', tf.sum], ['mean', tf.mean]] as const) {
          const { stock, native } = stockAndNative(() => op(x, axis, keepDims));
          const what = `${name} [${shape}] axis ${JSON.stringify(axis)} keepDims=${keepDims}`;
          expect(native.shape, what).toEqual(stock.shape);
          const nv = native.dataSync();
          stock.values.forEach((v, i) => (Number.isNaN(v) ? expect(nv[i], what).toBeNaN() : expect(Math.abs(nv[i]! - v), what).toBeLessThan(1e-5 * (1 + Math.abs(v)))));
          native.dispose();
        }
      }
      x.dispose();
    }
    const ints = tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32');
    const s = tf.sum(ints, 0);
    expect([s.dtype, ...s.dataSync()]).toEqual(['int32', 4, 6]); // int32: the wasm kernel
    tf.dispose([ints, s]);
    expect(reducePlan([16, 128, 256], [2])).toEqual({ outer: 2048, mid: 256, inner: 1 });
    expect(reducePlan([2048, 256], [0])).toEqual({ outer: 1, mid: 2048, inner: 256 });
    expect(reducePlan([4, 1, 3, 5], [1, 2])).toEqual({ outer: 4, mid: 3, inner: 5 });
    expect(reducePlan([3, 5, 4], [0, 2])).toBeUndefined();
    expect(reducePlan([3, 5], [])).toBeUndefined();
    expect(reducePlan([3, 5], [2])).toBeUndefined();
  });

  it('Cast to the same dtype shares the buffer; other casts convert as wasm does; memory stays flat', () => {
    const x = rand([4, 6], 600);
    const same = tf.cast(x, 'float32');
    const dataId = (t: tf.Tensor): object => (t as unknown as { dataId: object }).dataId;
    expect(dataId(same)).toBe(dataId(x)); // shared, not copied
    expect(Array.from(same.dataSync())).toEqual(Array.from(x.dataSync()));
    const i = tf.tensor1d([1, -2, 3], 'int32');
    const f = tf.cast(i, 'float32');
    expect([f.dtype, ...f.dataSync()]).toEqual(['float32', 1, -2, 3]);
    const back = tf.cast(tf.tensor1d([1.7, -2.2]), 'int32');
    expect([back.dtype, ...back.dataSync()]).toEqual(['int32', 1, -2]);
    x.dispose(); // the shared buffer lives on in `same`
    expect(same.dataSync()[0]).toBeCloseTo(rand([1], 600).dataSync()[0]!, 6);
    tf.dispose([same, i, f, back]);
    const grad = tf.grad((v: tf.Tensor) => tf.sum(tf.cast(v, 'float32')))(tf.ones([3]));
    expect(Array.from(grad.dataSync())).toEqual([1, 1, 1]);
    tf.dispose(grad);
  });

  it('gradients through native matMuls match the wasm kernels', () => {
    const a = rand([3, 10, 6], 51);
    const b = rand([3, 8, 6], 52);
    const w = rand([3, 10, 8], 53);
    const f = (x: tf.Tensor, y: tf.Tensor): tf.Scalar => tf.sum(tf.mul(tf.matMul(x, y, false, true), w));
    uninstallNativeKernels();
    const stock = tf.grads(f)([a, b]);
    installNativeKernels({ threads: 2 });
    const native = tf.grads(f)([a, b]);
    for (let i = 0; i < 2; i++) expectClose(native[i]!, { shape: stock[i]!.shape, values: stock[i]!.dataSync() }, `d${'ab'[i]}`);
    tf.dispose([a, b, w, ...stock, ...native]);
  });

  it('re-reads the heap after wasm memory grows', () => {
    const a = rand([40, 30], 61);
    const b = rand([30, 20], 62);
    const want = reference(a, b, false, false);
    const first = tf.matMul(a, b);
    const big = tf.zeros([64 * 2 ** 20]); // 256 MB: grows the wasm memory, replacing its ArrayBuffer
    const second = tf.matMul(a, b);
    expectClose(first, want, 'before growth');
    expectClose(second, want, 'after growth');
    tf.dispose([a, b, first, big, second]);
  });

  it('rejects bad shapes from JS with typed errors, before allocating or touching memory', () => {
    const a = rand([4, 5], 71);
    const b = rand([6, 3], 72);
    const c = rand([3, 5, 2], 73);
    const d = rand([2, 2, 3], 74);
    const before = tf.memory().numTensors;
    const run = (x: tf.Tensor, y: tf.Tensor): unknown => tf.engine().runKernel('BatchMatMul', { a: x, b: y }, { transposeA: false, transposeB: false });
    expect(() => run(a, b)).toThrow(NativeKernelError);
    expect(() => run(a, b)).toThrow(/inner dimensions differ/);
    try {
      run(c, d);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(NativeKernelError);
      expect((err as NativeKernelError).code).toBe('NATIVE_SHAPE');
    }
    const v = rand([5], 1);
    expect(() => run(v, b)).toThrow(/rank ≥ 2/);
    expect(tf.memory().numTensors).toBe(before + 1);
    v.dispose();
    expect(() => installNativeKernels({ threads: 0 })).toThrow(NativeKernelError);
    tf.dispose([a, b, c, d]);
  });

  it('the addon validates heap ranges itself (a wrong offset is a RangeError, never a crash)', async () => {
    const { loadAddon } = await import('./binding');
    const addon = loadAddon().addon!;
    const heap = new Uint8Array(256);
    const call = (aOff: number, outOff: number, batch: number[] = []): void => addon.matMul(heap, aOff, batch, 64, [], outOff, 4, 4, 4, false, false, -1, 0, 0, 0);
    expect(() => call(0, 250)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' }));
    expect(() => call(2, 128)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' })); // misaligned
    expect(() => call(0, 32)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' })); // out overlaps a
    expect(() => call(-8, 128)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARG' }));
    expect(() => call(0, 128, [2 ** 40])).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_SHAPE' }));
    expect(() => addon.matMul(new Uint8Array(0), 0, [], 0, [], 0, 1, 1, 1, false, false, -1, 0, 0, 0)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' }));
    expect(() => (addon.matMul as unknown as (...a: unknown[]) => void)(heap, 0)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARG' }));
    expect(() => addon.reduce(heap, 0, 240, 2, 8, 3, 0)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' })); // x [0, 192) overlaps out
    expect(() => addon.reduce(heap, 0, 252, 1, 4, 2, 0)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' })); // out past the heap
    expect(() => addon.reduce(heap, 0, 128, 1, 4, 1, 2)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARG' })); // unknown op
    expect(() => addon.softmax(heap, 0, 200, 4, 4)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_RANGE' })); // out past the heap
    expect(() => addon.unary(heap, 0, 128, 4, 6)).toThrow(expect.objectContaining({ code: 'ERR_NATIVE_ARG' })); // unknown op
    call(0, 128); // in range: runs
  });

  it('installNativeKernels needs the wasm backend', async () => {
    await tf.setBackend('cpu');
    try {
      expect(() => installNativeKernels()).toThrow(expect.objectContaining({ code: 'NATIVE_NEEDS_WASM' }));
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
