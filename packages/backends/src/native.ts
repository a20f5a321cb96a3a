import * as tf from '@tensorflow/tfjs-core';

/** The interface of `@adapterkit/native` (an optional package: the wasm backend with native OpenBLAS kernels). */
export interface NativeModule {
  nativeStatus(): { available: true; version: string; blas: string } | { available: false; reason: string };
  /** Call after the wasm backend is active and the training kernels are registered (it overrides BatchMatMul/_FusedMatMul on wasm). */
  installNativeKernels(options: { threads: number }): { kernels: string[]; threads: number; blas: string };
  /** Put back the wasm kernels that {@link NativeModule.installNativeKernels} replaced. */
  uninstallNativeKernels?(): void;
}

/** Whether `@adapterkit/native`'s kernels are installed on wasm (it marks the kernels it registers). */
export function nativeKernelsActive(): boolean {
  const fn = tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc as { adapterkitNative?: unknown } | undefined;
  return fn?.adapterkitNative !== undefined;
}

const NATIVE_PACKAGE = '@adapterkit/native';

/** Import `@adapterkit/native` when it is installed and usable, else a reason. */
export async function loadNative(): Promise<{ mod: NativeModule; version: string; blas: string } | string> {
  let mod: NativeModule;
  try {
    const spec = NATIVE_PACKAGE;
    mod = (await import(/* @vite-ignore */ spec)) as NativeModule;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || /Cannot find (module|package)|Failed to load url/.test(String((err as Error).message))) return `${NATIVE_PACKAGE} is not installed`;
    return `${NATIVE_PACKAGE} failed to load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  if (typeof mod.nativeStatus !== 'function' || typeof mod.installNativeKernels !== 'function') return `${NATIVE_PACKAGE} does not export nativeStatus/installNativeKernels`;
  const status = mod.nativeStatus();
  if (!status.available) return `${NATIVE_PACKAGE}: ${status.reason}`;
  return { mod, version: status.version, blas: status.blas };
}
