import * as tf from '@tensorflow/tfjs-core';
import { registerWasmBatchMatMul } from './wasm-batch-matmul';
import { registerWasmZeroCopyIdentity } from './wasm-identity';

let registered: Promise<void> | undefined;

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array | Int32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

/** out[ids[i]] += x[i] over rows of `inner` values (ids outside [0, numSegments) are dropped). */
function scatterAdd(xv: ArrayLike<number>, iv: ArrayLike<number>, ov: Float32Array | Int32Array, numSegments: number, inner: number): void {
  for (let i = 0; i < iv.length; i++) {
    const seg = iv[i]!;
    if (seg < 0 || seg >= numSegments) continue;
    const src = i * inner;
    const dst = seg * inner;
    for (let j = 0; j < inner; j++) ov[dst + j]! += xv[src + j]!;
  }
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * Register what training needs beyond tfjs-core: the gradient functions (tfjs-core registers none; the
 * tfjs-layers bundle registers all of them in the shared registry) and an `UnsortedSegmentSum` kernel for wasm
 * (the gradient of `tf.gather`, i.e. of embedding lookups), a linear-time scatter-add, which also replaces the
 * cpu backend's quadratic one; a wasm `BatchMatMul` that runs batched products (attention) through XNNPACK; and a
 * wasm `Identity` (`tf.clone`) that shares buffers instead of copying them. Idempotent.
 */
export async function registerTrainingSupport(): Promise<void> {
  registered ??= (async () => {
    await import('@tensorflow/tfjs-layers');
    if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
      tf.registerKernel({
        kernelName: 'UnsortedSegmentSum',
        backendName: 'wasm',
        kernelFunc: ({ inputs, backend, attrs }) => {
          const be = backend as unknown as WasmBackendLike;
          const x = inputs['x'] as tf.TensorInfo;
          const ids = inputs['segmentIds'] as tf.TensorInfo;
          const numSegments = (attrs as { numSegments: number }).numSegments;
          const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
          const out = be.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
          const xv = be.typedArrayFromHeap(x);
          const iv = be.typedArrayFromHeap(ids);
          const ov = be.typedArrayFromHeap(out);
          ov.fill(0);
          scatterAdd(xv, iv, ov, numSegments, inner);
          return out;
        },
      });
    }

  })();
  await registered;
  overrideCpuSegmentSum();
  registerWasmBatchMatMul();
  registerWasmZeroCopyIdentity();
}

const cpuSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const be = backend as unknown as CpuBackendLike;
  const x = inputs['x'] as tf.TensorInfo;
  const ids = inputs['segmentIds'] as tf.TensorInfo;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const inner = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const ov = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  scatterAdd(be.data.get(x.dataId).values, be.data.get(ids.dataId).values, ov, numSegments, inner);
  return be.makeTensorInfo([numSegments, ...x.shape.slice(1)], x.dtype, ov);
};

/**
 * tfjs-backend-cpu's `UnsortedSegmentSum` is O(numSegments · N · H) and keeps every intermediate (8.9 GB at vocab
 * 8192): replace it with the linear-time scatter-add. Runs on every call, since importing the cpu backend after
 * this would re-register the stock kernel.
 */
function overrideCpuSegmentSum(): void {
  const current = tf.getKernel('UnsortedSegmentSum', 'cpu');
  if (current?.kernelFunc === cpuSegmentSum) return;
  if (current) tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'cpu', kernelFunc: cpuSegmentSum });
}
