import * as tf from '@tensorflow/tfjs-core';

let registered: Promise<void> | undefined;

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * Register what training needs beyond tfjs-core: the gradient functions (tfjs-core registers none; the
 * tfjs-layers bundle registers all of them in the shared registry) and an `UnsortedSegmentSum` kernel for wasm
 * (the gradient of `tf.gather`, i.e. of embedding lookups), a linear-time scatter-add. Idempotent.
 */
export function registerTrainingSupport(): Promise<void> {
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
          for (let i = 0; i < iv.length; i++) {
            const seg = iv[i]!;
            if (seg < 0 || seg >= numSegments) continue;
            const src = i * inner;
            const dst = seg * inner;
            for (let j = 0; j < inner; j++) ov[dst + j]! += xv[src + j]!;
          }
          return out;
        },
      });
    }
  })();
  return registered;
}
