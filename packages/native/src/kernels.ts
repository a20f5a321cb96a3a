import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { loadAddon, type NativeAddon } from './binding';
import { NativeKernelError, fromAddonError } from './errors';

/** The parts of tfjs-backend-wasm's BackendWasm the kernels use (tfjs 4.22). */
interface WasmBackendInternals {
  incRef(dataId: object): void;
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  wasm: { HEAPU8: Uint8Array };
}

/** What {@link installNativeKernels} did. */
export interface NativeKernelsInfo {
  /** Kernel names now run by the addon on the wasm backend. */
  readonly kernels: string[];
  /** OpenBLAS threads in effect. */
  readonly threads: number;
  /** OpenBLAS build and the kernel set picked for this CPU. */
  readonly blas: string;
}

/** A kernel function this package registered (marks: ours, and "already adapterkit's" for core's own wrappers). */
type MarkedKernel = tf.KernelFunc & { adapterkit?: boolean; adapterkitNative?: tf.KernelConfig };

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5 };

function offsetOf(be: WasmBackendInternals, t: tf.TensorInfo, kernel: string, name: string): number {
  const data = be.dataIdMap.get(t.dataId);
  if (!data) throw new NativeKernelError('NATIVE_ARG', `${kernel}: input '${name}' is not a tensor of the wasm backend`);
  return data.memoryOffset;
}

/** Numpy-style broadcast of two batch shapes; a typed error names the axis that does not broadcast. */
function broadcastBatch(kernel: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new NativeKernelError('NATIVE_SHAPE', `${kernel}: batch shapes [${a.join(',')}] and [${b.join(',')}] do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/**
 * `act(op(a)·op(b) + bias)` for a (`[..., m, k]`, or `[..., k, m]` transposed) and b (`[..., k, n]`, or
 * `[..., n, k]`) with broadcast batch dimensions → `[...batch, m, n]`, computed by the addon on the wasm heap.
 */
function nativeMatMul(
  addon: NativeAddon, be: WasmBackendInternals, kernel: string, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean,
  bias?: tf.TensorInfo, activation = 0, alpha = 0,
): tf.TensorInfo {
  if (a.shape.length < 2 || b.shape.length < 2) {
    throw new NativeKernelError('NATIVE_SHAPE', `${kernel}: operands need rank ≥ 2, got a [${a.shape.join(',')}] and b [${b.shape.join(',')}]`);
  }
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const k = transposeA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const kb = transposeB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const n = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (k !== kb) {
    throw new NativeKernelError('NATIVE_SHAPE', `${kernel}: inner dimensions differ: a [${a.shape.join(',')}]${transposeA ? 'ᵀ' : ''} has ${k}, b [${b.shape.join(',')}]${transposeB ? 'ᵀ' : ''} has ${kb}`);
  }
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const batch = broadcastBatch(kernel, aBatch, bBatch);
  let biasOffset = -1;
  let biasLength = 0;
  if (bias) {
    biasLength = bias.shape.reduce((p, d) => p * d, 1);
    if (bias.shape.length > 1 || (biasLength !== n && biasLength !== 1)) {
      throw new NativeKernelError('NATIVE_SHAPE', `${kernel}: bias [${bias.shape.join(',')}] must be rank 1 with 1 or n = ${n} values`);
    }
    biasOffset = offsetOf(be, bias, kernel, 'bias');
  }
  const aOffset = offsetOf(be, a, kernel, 'a');
  const bOffset = offsetOf(be, b, kernel, 'b');
  const out = be.makeOutput([...batch, m, n], 'float32');
  try {
    // HEAPU8 is read after makeOutput: an allocation may grow the memory and replace its buffer
    addon.matMul(be.wasm.HEAPU8, aOffset, aBatch, bOffset, bBatch, offsetOf(be, out, kernel, 'out'), m, k, n, transposeA, transposeB, biasOffset, biasLength, activation, alpha);
  } catch (err) {
    be.disposeData(out.dataId, true);
    throw fromAddonError(kernel, err);
  }
  return out;
}

function requireWasm(): WasmBackendInternals {
  if (tf.getBackend() !== 'wasm') {
    throw new NativeKernelError('NATIVE_NEEDS_WASM', `native kernels run on the wasm backend's heap, but the active backend is '${tf.getBackend()}' (initBackend('wasm') first)`);
  }
  const be = tf.backend() as unknown as Partial<WasmBackendInternals>;
  if (!be.dataIdMap || !be.wasm?.HEAPU8 || typeof be.makeOutput !== 'function') {
    throw new NativeKernelError('NATIVE_NEEDS_WASM', 'the wasm backend lacks the internals the native kernels use (dataIdMap, wasm.HEAPU8, makeOutput): tfjs-backend-wasm 4.x is required');
  }
  return be as WasmBackendInternals;
}

/** Replace kernel `name` on wasm by `make(previous)`; the previous config is kept for fallbacks and uninstall. */
function override(name: string, make: (previous: tf.KernelConfig) => tf.KernelFunc): void {
  const current = tf.getKernel(name, 'wasm');
  if (!current) throw new NativeKernelError('NATIVE_NEEDS_WASM', `kernel '${name}' is not registered for wasm (is @tensorflow/tfjs-backend-wasm loaded?)`);
  if ((current.kernelFunc as MarkedKernel).adapterkitNative) return; // installed already
  const fn = make(current) as MarkedKernel;
  fn.adapterkit = true; // core's registerTrainingSupport leaves kernels marked as adapterkit's alone
  fn.adapterkitNative = current;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: fn, ...(current.setupFunc ? { setupFunc: current.setupFunc } : {}) });
}

/** Kernel names {@link installNativeKernels} registers. */
export const NATIVE_KERNELS: readonly string[] = ['BatchMatMul', '_FusedMatMul', 'Exp', 'Erf', 'Add', 'Sub', 'Multiply', 'RealDiv', 'Transpose', 'GatherV2', 'Sum', 'Mean', 'Cast', 'Square', 'Neg', 'Sqrt', 'Rsqrt', 'Softmax'];

/**
 * A reduction of `shape` over `axes` as `[outer, mid, inner]` reducing `mid` (size-1 axes dropped, adjacent axes of
 * the same kind merged), or undefined when the reduced axes are not one contiguous run (e.g. axes 0 and 2 of three)
 * or when `axes` is empty or out of range (the stock kernel handles or reports those).
 */
export function reducePlan(shape: readonly number[], axes: readonly number[]): { outer: number; mid: number; inner: number } | undefined {
  const rank = shape.length;
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  if (norm.length === 0 || norm.some((a) => !Number.isInteger(a) || a < 0 || a >= rank)) return undefined;
  const reduced = new Set(norm);
  let outer = 1;
  let mid = 1;
  let inner = 1;
  let stage = 0; // 0: before the reduced run, 1: in it, 2: after it
  for (let i = 0; i < rank; i++) {
    const d = shape[i]!;
    if (d === 1) continue;
    if (reduced.has(i)) {
      if (stage === 2) return undefined;
      stage = 1;
      mid *= d;
    } else if (stage === 0) outer *= d;
    else {
      stage = 2;
      inner *= d;
    }
  }
  return { outer, mid, inner };
}

/**
 * A transpose with its size-1 axes dropped and the input axes that stay adjacent merged (`[16,128,4,64]` by
 * `[1,2,0,3]` → `[16,512,64]` by `[1,0,2]`): the same data movement on fewer, longer axes.
 */
export function collapseTranspose(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  const kept = shape.map((_, i) => i).filter((i) => shape[i] !== 1);
  const renumber = new Map(kept.map((axis, j) => [axis, j]));
  const order = perm.filter((p) => shape[p] !== 1).map((p) => renumber.get(p)!);
  const groups: number[][] = []; // runs of consecutive input axes, in output order
  for (const axis of order) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] === axis - 1) g.push(axis);
    else groups.push([axis]);
  }
  const byInput = [...groups].sort((a, b) => a[0]! - b[0]!);
  return {
    shape: byInput.map((g) => g.reduce((p, axis) => p * shape[kept[axis]!]!, 1)),
    perm: groups.map((g) => byInput.indexOf(g)),
  };
}

const UNARY_OPS: Record<string, number> = { Exp: 0, Erf: 1, Square: 2, Neg: 3, Sqrt: 4, Rsqrt: 5 };
const BINARY_OPS: Record<string, number> = { Add: 0, Sub: 1, Multiply: 2, RealDiv: 3 };
const enum Mode {
  Full = 0,
  Row = 1,
  Col = 2,
  Scalar = 3,
}

/** A binary op's output as `[outer, inner]` and how each operand maps onto it, or undefined for other broadcasts. */
export function binaryPlan(a: readonly number[], b: readonly number[]): { out: number[]; outer: number; inner: number; aMode: Mode; bMode: Mode } | undefined {
  const rank = Math.max(a.length, b.length);
  const pa = [...Array<number>(rank - a.length).fill(1), ...a];
  const pb = [...Array<number>(rank - b.length).fill(1), ...b];
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    if (pa[i] !== pb[i] && pa[i] !== 1 && pb[i] !== 1) return undefined; // the stock kernel reports it
    out.push(pa[i] === 1 ? pb[i]! : pa[i]!);
  }
  const prod = (xs: readonly number[]): number => xs.reduce((p, d) => p * d, 1);
  const same = (x: readonly number[], y: readonly number[]): boolean => x.every((d, i) => d === y[i]);
  const ones = (x: readonly number[]): boolean => x.every((d) => d === 1);
  const modeAt = (x: number[], p: number): Mode | undefined => {
    if (same(x, out)) return Mode.Full;
    if (prod(x) === 1) return Mode.Scalar;
    if (ones(x.slice(0, p)) && same(x.slice(p), out.slice(p))) return Mode.Row;
    if (same(x.slice(0, p), out.slice(0, p)) && ones(x.slice(p))) return Mode.Col;
    return undefined;
  };
  for (let p = 0; p <= rank; p++) {
    const aMode = modeAt(pa, p);
    const bMode = modeAt(pb, p);
    if (aMode !== undefined && bMode !== undefined) return { out, outer: prod(out.slice(0, p)), inner: prod(out.slice(p)), aMode, bMode };
  }
  return undefined;
}

/**
 * Run the matMul family of the wasm backend with OpenBLAS: `BatchMatMul` (every `tf.matMul`, with transposes and
 * batch broadcasting) and `_FusedMatMul` (`tf.fused.matMul`: bias `[n]` or `[1]` + linear/relu/relu6/leakyrelu/
 * sigmoid/elu; prelu and non-float32 operands keep the previous kernel), and the elementwise kernels that the bench
 * shows next (`Exp`, `Erf`; `Add`, `Sub`, `Multiply`, `RealDiv` for same-shape, scalar, row and column broadcasts;
 * other broadcasts and dtypes keep the previous kernel), `Transpose` and `GatherV2` along axis 0 (embedding lookups)
 * for 4-byte dtypes, `Sum` and `Mean` of float32 over one contiguous run of axes (after dropping size-1 axes), and
 * `Cast` to the tensor's own dtype without a copy (the buffer is shared, reference-counted), `Square`, `Neg`,
 * `Sqrt`, `Rsqrt` and `Softmax` (last axis) of float32. Kernels read and write the wasm backend's
 * tensors in place on its heap. Call after the wasm backend is active and the library's training kernels are
 * registered (`initBackend('wasm')`); calling again only changes the thread count.
 *
 * @param options.threads OpenBLAS threads (default: `os.availableParallelism()`)
 * @throws NativeKernelError `NATIVE_UNAVAILABLE` when the addon cannot load (see {@link nativeStatus}),
 *   `NATIVE_NEEDS_WASM` when wasm is not the active backend, `NATIVE_ARG` for a bad thread count
 */
export function installNativeKernels(options: { threads?: number } = {}): NativeKernelsInfo {
  const { addon, status } = loadAddon();
  if (!addon) throw new NativeKernelError('NATIVE_UNAVAILABLE', `the native addon is unavailable: ${status.available ? '' : status.reason}`);
  requireWasm();
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new NativeKernelError('NATIVE_ARG', `threads must be a positive integer, got ${threads}`);
  const inEffect = addon.setThreads(threads);
  override('BatchMatMul', (previous) => (args) => {
    const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    // other dtypes, and more than 8 batch axes (beyond the addon): the previous kernel
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length > 10 || b.shape.length > 10) return previous.kernelFunc(args);
    const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    return nativeMatMul(addon, args.backend as unknown as WasmBackendInternals, 'BatchMatMul', a, b, !!transposeA, !!transposeB);
  });
  override('_FusedMatMul', (previous) => (args) => {
    const { a, b, bias, preluActivationWeights } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
    const { transposeA, transposeB, activation, leakyreluAlpha } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean; activation?: string; leakyreluAlpha?: number };
    const code = ACTIVATIONS[activation ?? 'linear'];
    if (code === undefined || preluActivationWeights || a.shape.length > 10 || b.shape.length > 10 || a.dtype !== 'float32' || b.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return previous.kernelFunc(args);
    return nativeMatMul(addon, args.backend as unknown as WasmBackendInternals, '_FusedMatMul', a, b, !!transposeA, !!transposeB, bias ?? undefined, code, leakyreluAlpha ?? 0);
  });
  for (const [name, op] of Object.entries(UNARY_OPS)) {
    override(name, (previous) => (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      if (x.dtype !== 'float32') return previous.kernelFunc(args);
      const be = args.backend as unknown as WasmBackendInternals;
      const xOffset = offsetOf(be, x, name, 'x');
      const out = be.makeOutput([...x.shape], 'float32');
      try {
        addon.unary(be.wasm.HEAPU8, xOffset, offsetOf(be, out, name, 'out'), x.shape.reduce((p, d) => p * d, 1), op);
      } catch (err) {
        be.disposeData(out.dataId, true);
        throw fromAddonError(name, err);
      }
      return out;
    });
  }
  for (const [name, op] of Object.entries(BINARY_OPS)) {
    override(name, (previous) => (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const plan = a.dtype === 'float32' && b.dtype === 'float32' ? binaryPlan(a.shape, b.shape) : undefined;
      if (!plan) return previous.kernelFunc(args); // other dtypes and broadcasts: the wasm kernel
      const be = args.backend as unknown as WasmBackendInternals;
      const aOffset = offsetOf(be, a, name, 'a');
      const bOffset = offsetOf(be, b, name, 'b');
      const out = be.makeOutput(plan.out, 'float32');
      try {
        addon.binary(be.wasm.HEAPU8, aOffset, plan.aMode, bOffset, plan.bMode, offsetOf(be, out, name, 'out'), plan.outer, plan.inner, op);
      } catch (err) {
        be.disposeData(out.dataId, true);
        throw fromAddonError(name, err);
      }
      return out;
    });
  }
  for (const [name, op] of [['Sum', 0], ['Mean', 1]] as const) {
    override(name, (previous) => (args) => {
      const x = args.inputs['x'] as tf.TensorInfo;
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
      const axes = axis === null || axis === undefined ? x.shape.map((_, i) => i) : Array.isArray(axis) ? axis : [axis];
      const plan = x.dtype === 'float32' ? reducePlan(x.shape, axes) : undefined;
      // other dtypes and axis sets, and the mean of nothing (wasm gives 0, not NaN): the wasm kernel
      if (!plan || (op === 1 && plan.mid === 0)) return previous.kernelFunc(args);
      const reduced = new Set(axes.map((a) => (a < 0 ? a + x.shape.length : a)));
      const outShape = keepDims ? x.shape.map((d, i) => (reduced.has(i) ? 1 : d)) : x.shape.filter((_, i) => !reduced.has(i));
      const be = args.backend as unknown as WasmBackendInternals;
      const xOffset = offsetOf(be, x, name, 'x');
      const out = be.makeOutput(outShape, 'float32');
      try {
        addon.reduce(be.wasm.HEAPU8, xOffset, offsetOf(be, out, name, 'out'), plan.outer, plan.mid, plan.inner, op);
      } catch (err) {
        be.disposeData(out.dataId, true);
        throw fromAddonError(name, err);
      }
      return out;
    });
  }
  override('Softmax', (previous) => (args) => {
    const logits = args.inputs['logits'] as tf.TensorInfo;
    const { dim } = args.attrs as unknown as { dim: number };
    const rank = logits.shape.length;
    // the last axis of float32 logits (the only one tfjs-core's softmax takes): the addon; anything else: wasm
    if (logits.dtype !== 'float32' || rank === 0 || (dim !== -1 && dim !== rank - 1)) return previous.kernelFunc(args);
    const n = logits.shape[rank - 1]!;
    const rows = logits.shape.slice(0, -1).reduce((p, d) => p * d, 1);
    const be = args.backend as unknown as WasmBackendInternals;
    const xOffset = offsetOf(be, logits, 'Softmax', 'logits');
    const out = be.makeOutput([...logits.shape], 'float32');
    try {
      addon.softmax(be.wasm.HEAPU8, xOffset, offsetOf(be, out, 'Softmax', 'out'), rows, n);
    } catch (err) {
      be.disposeData(out.dataId, true);
      throw fromAddonError('Softmax', err);
    }
    return out;
  });
  // a cast to the tensor's own dtype shares its buffer (reference-counted, like Reshape and the library's Identity)
  override('Cast', (previous) => (args) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    const { dtype } = args.attrs as unknown as { dtype: tf.DataType };
    if (x.dtype !== dtype || (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool')) return previous.kernelFunc(args);
    const be = args.backend as unknown as WasmBackendInternals;
    be.incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  });
  override('Transpose', (previous) => (args) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    const perm = (args.attrs as unknown as { perm: number[] }).perm;
    if ((x.dtype !== 'float32' && x.dtype !== 'int32') || perm.length !== x.shape.length) return previous.kernelFunc(args);
    const c = collapseTranspose(x.shape, perm);
    // rank < 2: the data order does not change (the stock kernel shares the buffer); rank > 8: beyond the addon
    if (c.shape.length < 2 || c.shape.length > 8) return previous.kernelFunc(args);
    const be = args.backend as unknown as WasmBackendInternals;
    const xOffset = offsetOf(be, x, 'Transpose', 'x');
    const out = be.makeOutput(perm.map((p) => x.shape[p]!), x.dtype);
    try {
      addon.transpose(be.wasm.HEAPU8, xOffset, c.shape, c.perm, offsetOf(be, out, 'Transpose', 'out'));
    } catch (err) {
      be.disposeData(out.dataId, true);
      throw fromAddonError('Transpose', err);
    }
    return out;
  });
  override('GatherV2', (previous) => (args) => {
    const { x, indices } = args.inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = args.attrs as unknown as { axis: number; batchDims?: number };
    const parsedAxis = axis < 0 ? axis + x.shape.length : axis;
    if (parsedAxis !== 0 || (batchDims ?? 0) !== 0 || x.shape.length < 1 || (x.dtype !== 'float32' && x.dtype !== 'int32') || indices.dtype !== 'int32') return previous.kernelFunc(args);
    const be = args.backend as unknown as WasmBackendInternals;
    const rowLength = x.shape.slice(1).reduce((p, d) => p * d, 1);
    const count = indices.shape.reduce((p, d) => p * d, 1);
    const xOffset = offsetOf(be, x, 'GatherV2', 'x');
    const iOffset = offsetOf(be, indices, 'GatherV2', 'indices');
    const out = be.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
    try {
      addon.gatherRows(be.wasm.HEAPU8, xOffset, x.shape[0]!, rowLength, iOffset, count, offsetOf(be, out, 'GatherV2', 'out'));
    } catch (err) {
      be.disposeData(out.dataId, true);
      throw fromAddonError('GatherV2', err);
    }
    return out;
  });
  return { kernels: [...NATIVE_KERNELS], threads: inEffect, blas: addon.blas() };
}

/** Restore the kernels {@link installNativeKernels} replaced (no-op when none is installed). */
export function uninstallNativeKernels(): void {
  for (const name of NATIVE_KERNELS) {
    const current = tf.getKernel(name, 'wasm');
    const previous = (current?.kernelFunc as MarkedKernel | undefined)?.adapterkitNative;
    if (!previous) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(previous);
  }
}

/** Whether the native kernels are installed on wasm now. */
export function nativeKernelsInstalled(): boolean {
  return NATIVE_KERNELS.every((name) => !!(tf.getKernel(name, 'wasm')?.kernelFunc as MarkedKernel | undefined)?.adapterkitNative);
}
