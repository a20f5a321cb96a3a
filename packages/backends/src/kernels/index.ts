import * as tf from '@tensorflow/tfjs-core';
import { registerTrainingSupport } from '@adapterkit/core';
import { overrideCpuSegmentSum, registerWasmSegmentSum } from './segment-sum';
import { registerWasmBatchMatMul } from './wasm-batch-matmul';
import { registerWasmZeroCopyIdentity } from './wasm-identity';

/** Kernels a training step of AdapterKit's models runs (forward and backward), checked on every backend. */
export const TRAINING_KERNELS: readonly string[] = [
  'BatchMatMul', 'UnsortedSegmentSum', 'GatherV2', 'Identity', 'Softmax', 'Erf', 'Tanh', 'Transpose', 'Sum', 'Max',
  'Mean', 'Reshape', 'Multiply', 'Add', 'Sub', 'RealDiv', 'Sqrt', 'Rsqrt', 'Exp', 'Log', 'Square', 'Cast', 'Concat',
  'Slice', 'PadV2', 'Tile', 'Select', 'OneHot',
];

/**
 * Register what training needs on top of tfjs-core and the stock backends: the gradient functions (core's
 * `registerTrainingSupport`); on wasm an `UnsortedSegmentSum`, a `BatchMatMul` that runs batched products through
 * XNNPACK, and a zero-copy `Identity`; on cpu the linear-time `UnsortedSegmentSum`. WebGPU and WebGL ship every
 * kernel of {@link TRAINING_KERNELS}; nothing is replaced there. Kernels for a backend whose package is not loaded
 * yet are registered by the next call (idempotent; {@link initBackend} calls it after activating a backend).
 *
 * @returns the kernels of {@link TRAINING_KERNELS} still missing on the active backend (empty when training works)
 */
export async function registerTrainingKernels(): Promise<string[]> {
  await registerTrainingSupport();
  registerWasmSegmentSum();
  overrideCpuSegmentSum();
  registerWasmBatchMatMul();
  registerWasmZeroCopyIdentity();
  const active = tf.getBackend();
  return TRAINING_KERNELS.filter((k) => !tf.getKernel(k, active));
}
