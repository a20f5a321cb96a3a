let registered: Promise<void> | undefined;

/**
 * Register the gradient functions training needs: tfjs-core registers none (`gradient function not found for
 * RealDiv`), the tfjs-layers bundle registers all of them in tfjs-core's shared registry. Backend-agnostic and
 * idempotent. The backend-specific kernels training needs (wasm `UnsortedSegmentSum`, batched matMul, zero-copy
 * `Identity`, the cpu scatter-add) live in `@adapterkit/backends`, whose `initBackend` calls this too.
 */
export async function registerTrainingSupport(): Promise<void> {
  registered ??= import('@tensorflow/tfjs-layers').then(() => undefined);
  await registered;
}
