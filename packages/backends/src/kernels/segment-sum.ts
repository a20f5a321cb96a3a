import * as tf from '@tensorflow/tfjs-core';

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

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses (tfjs 4.22). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU this kernel uses (tfjs 4.22). */
interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array | Int32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo;
}

const wasmSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
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
};

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
 * `UnsortedSegmentSum` (the gradient of `tf.gather`, i.e. of embedding lookups) for wasm, which has none, as a
 * linear-time scatter-add on the wasm heap. Idempotent.
 */
export function registerWasmSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: wasmSegmentSum });
}

/**
 * tfjs-backend-cpu's `UnsortedSegmentSum` is O(numSegments · N · H) and keeps every intermediate (8.9 GB at vocab
 * 8192): replace it with the linear-time scatter-add. Safe to call again, since importing the cpu backend later
 * re-registers the stock kernel.
 */
export function overrideCpuSegmentSum(): void {
  const current = tf.getKernel('UnsortedSegmentSum', 'cpu');
  if (current?.kernelFunc === cpuSegmentSum) return;
  if (current) tf.unregisterKernel('UnsortedSegmentSum', 'cpu');
  tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'cpu', kernelFunc: cpuSegmentSum });
}
