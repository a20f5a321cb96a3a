import * as tf from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses (tfjs 4.22). */
interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object): boolean;
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
    tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
  };
}

type NativeBatchMatMul = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, ta: boolean, tb: boolean, outId: number) => void;

const natives = new WeakMap<object, NativeBatchMatMul>();

function nativeOf(backend: WasmBackendInternals): NativeBatchMatMul {
  let fn = natives.get(backend);
  if (!fn) {
    fn = backend.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as NativeBatchMatMul;
    natives.set(backend, fn);
  }
  return fn;
}

const shapeBytes = (dims: number[]): Uint8Array => new Uint8Array(new Int32Array(dims).buffer);

/**
 * A `BatchMatMul` kernel for the wasm backend that runs each batch slice through XNNPACK. tfjs-wasm 4.22 only
 * uses XNNPACK for a single 2-D product; any batch > 1 (attention's `[B·heads, S, d]` products) takes a naive
 * single-thread loop at about 2 GFLOP/s. Here every slice is registered as a zero-copy view of the operands
 * (`registerTensor` at an offset into the wasm heap) and multiplied as a batch-1 product (≈ 6× faster on
 * `[64,128,64]·[64,64,128]`). `transposeA`/`transposeB` are done as explicit transposes first (the stock kernel's
 * transposed path is a scalar loop, 10–50× slower), so the library's gradients can use the flags, which native BLAS
 * takes for free. Broadcasting products fall back to the stock kernel.
 */
export function registerWasmBatchMatMul(): void {
  const stock = tf.getKernel('BatchMatMul', 'wasm');
  if (!stock || (stock.kernelFunc as { adapterkit?: boolean }).adapterkit) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const { inputs, attrs } = args;
    const backend = args.backend as unknown as WasmBackendInternals;
    const a = inputs['a'] as tf.TensorInfo;
    const b = inputs['b'] as tf.TensorInfo;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    if ((transposeA || transposeB) && a.dtype === 'float32' && b.dtype === 'float32' && a.shape.length >= 2 && b.shape.length >= 2) {
      // the stock kernel's transposed path is a scalar loop: transpose explicitly, then multiply untransposed
      const swap = (t: tf.TensorInfo): tf.TensorInfo => {
        const r = t.shape.length;
        const perm = [...Array.from({ length: r - 2 }, (_, i) => i), r - 1, r - 2];
        return tf.getKernel('Transpose', 'wasm')!.kernelFunc({ inputs: { x: t }, backend: args.backend, attrs: { perm } }) as tf.TensorInfo;
      };
      const ta = transposeA ? swap(a) : a;
      const tb = transposeB ? swap(b) : b;
      try {
        return kernelFunc({ inputs: { a: ta, b: tb }, backend: args.backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
      } finally {
        if (ta !== a) backend.disposeData(ta.dataId);
        if (tb !== b) backend.disposeData(tb.dataId);
      }
    }
    const rank = a.shape.length;
    const batchShape = a.shape.slice(0, -2);
    const batch = batchShape.reduce((x, y) => x * y, 1);
    const sameBatch = b.shape.length === rank && b.shape.slice(0, -2).every((d, i) => d === batchShape[i]);
    if (transposeA || transposeB || !sameBatch || batch <= 1 || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return stock.kernelFunc(args);
    }
    const m = a.shape[rank - 2]!;
    const k = a.shape[rank - 1]!;
    const n = b.shape[rank - 1]!;
    if (b.shape[rank - 2] !== k) return stock.kernelFunc(args); // let the stock kernel report the shape error
    const out = backend.makeOutput([...batchShape, m, n], 'float32');
    const aOffset = backend.dataIdMap.get(a.dataId).memoryOffset;
    const bOffset = backend.dataIdMap.get(b.dataId).memoryOffset;
    const oOffset = backend.dataIdMap.get(out.dataId).memoryOffset;
    const native = nativeOf(backend);
    const { registerTensor, disposeData } = backend.wasm.tfjs;
    const aShape = shapeBytes([1, m, k]);
    const bShape = shapeBytes([1, k, n]);
    for (let i = 0; i < batch; i++) {
      const ia = backend.dataIdNextNumber++;
      const ib = backend.dataIdNextNumber++;
      const io = backend.dataIdNextNumber++;
      registerTensor(ia, m * k, aOffset + i * m * k * 4);
      registerTensor(ib, k * n, bOffset + i * k * n * 4);
      registerTensor(io, m * n, oOffset + i * m * n * 4);
      native(ia, aShape, 3, ib, bShape, 3, false, false, io);
      // views only: unregister (drops XNNPACK's cached operator for ib) without freeing the operands' memory
      disposeData(ia);
      disposeData(ib);
      disposeData(io);
    }
    return out;
  };
  (kernelFunc as { adapterkit?: boolean }).adapterkit = true;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc, ...(stock.setupFunc ? { setupFunc: stock.setupFunc } : {}) });
}
