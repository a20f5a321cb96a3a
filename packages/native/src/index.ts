/**
 * `@adapterkit/native`: optional native CPU kernels for the wasm backend. An N-API addon (OpenBLAS, linked
 * statically) runs tfjs's matMul family on the wasm backend's own tensors, in place on its heap.
 *
 * ```ts
 * await initBackend('wasm');
 * if (nativeStatus().available) installNativeKernels({ threads: 1 });
 * ```
 */
import { loadAddon, type NativeStatus } from './binding';

export { NativeKernelError } from './errors';
export { installNativeKernels, uninstallNativeKernels, nativeKernelsInstalled, NATIVE_KERNELS, type NativeKernelsInfo } from './kernels';
export type { NativeStatus } from './binding';

/** Whether the addon is available on this machine (version, BLAS and its CPU kernel set), or why not. Never throws. */
export function nativeStatus(): NativeStatus {
  try {
    return loadAddon().status;
  } catch (err) {
    return { available: false, reason: `loading the addon failed: ${(err as Error).message}` };
  }
}
