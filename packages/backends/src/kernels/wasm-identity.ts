import * as tf from '@tensorflow/tfjs-core';

/** The part of tfjs-backend-wasm's BackendWasm this kernel uses (tfjs 4.22). */
interface WasmBackendRefCount {
  incRef(dataId: object): void;
}

/**
 * An `Identity` kernel for the wasm backend that shares the input's buffer (reference-counted, as the wasm
 * `Reshape` kernel and the cpu backend's `Identity` already do) instead of copying it. tfjs-core calls `Identity`
 * through `tf.clone` for every tensor a custom gradient saves and in the gradient tape, about 600 times per
 * training step of a 4-layer BERT: copying `[batch·seq, hidden]` activations each time cost ≈ 9 % of the step.
 * Tensors are immutable and variables re-point to new buffers on `assign`, so sharing is safe. String tensors keep
 * the stock kernel.
 */
export function registerWasmZeroCopyIdentity(): void {
  const stock = tf.getKernel('Identity', 'wasm');
  if (!stock || (stock.kernelFunc as { adapterkit?: boolean }).adapterkit) return;
  const kernelFunc: tf.KernelFunc = (args) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    if (x.dtype === 'string') return stock.kernelFunc(args);
    (args.backend as unknown as WasmBackendRefCount).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  (kernelFunc as { adapterkit?: boolean }).adapterkit = true;
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc });
}
