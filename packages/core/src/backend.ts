import * as tf from '@tensorflow/tfjs-core';
import { AdapterKitError } from './errors';
import { registerTrainingSupport } from './nn/kernels';

/**
 * Backends AdapterKit can select. `tensorflow` = tfjs-node-gpu or tfjs-node (native libtensorflow); `native` = the
 * wasm backend with the matMul family run by `@adapterkit/native` (OpenBLAS on the wasm heap), when installed.
 */
export type BackendName = 'tensorflow' | 'native' | 'wasm' | 'cpu';

/** Result of {@link initBackend}. */
export interface BackendInfo {
  readonly name: BackendName;
  /** tfjs backend id actually active (`tensorflow`, `wasm`, `cpu`). */
  readonly tfBackend: string;
  /** Package that provided it. */
  readonly package: string;
  /** Worker threads (wasm), where known. */
  readonly threads?: number;
  /** Backends tried before this one and why they were skipped. */
  readonly skipped: ReadonlyArray<{ name: BackendName; reason: string }>;
}

const ORDER: readonly BackendName[] = ['tensorflow', 'native', 'wasm', 'cpu'];

/** The part of `@adapterkit/native` used here (an optional package: loaded by name, never a dependency). */
interface NativeKernelsModule {
  nativeStatus(): { available: true; version: string; blas: string } | { available: false; reason: string };
  installNativeKernels(options?: { threads?: number }): { kernels: string[]; threads: number; blas: string };
  uninstallNativeKernels(): void;
}

/** Held in a variable so that bundlers leave the import to run time (the package is optional). */
const NATIVE_PACKAGE = '@adapterkit/native';

async function importNative(): Promise<NativeKernelsModule | undefined> {
  try {
    return (await import(/* @vite-ignore */ NATIVE_PACKAGE)) as NativeKernelsModule;
  } catch {
    return undefined;
  }
}

async function tryImport(pkg: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ pkg);
    return true;
  } catch {
    return false;
  }
}

async function activate(name: BackendName, threads?: number): Promise<{ pkg: string; threads?: number } | string> {
  if (name === 'tensorflow') {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
      if (await tryImport(pkg)) {
        if (await tf.setBackend('tensorflow')) return { pkg };
      }
    }
    return 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (their install downloads libtensorflow)';
  }
  if (name === 'native') {
    const native = await importNative();
    if (!native) return '@adapterkit/native is not installed';
    const status = native.nativeStatus();
    if (!status.available) return `@adapterkit/native is unavailable: ${status.reason}`;
    const wasm = await activate('wasm');
    if (typeof wasm === 'string') return `it runs on wasm, and ${wasm}`;
    await tf.ready();
    await registerTrainingSupport(); // the native kernels replace the training kernels' BatchMatMul: register those first
    const info = native.installNativeKernels(threads !== undefined ? { threads } : {});
    return { pkg: `@adapterkit/native ${status.version} (${info.blas}) on @tensorflow/tfjs-backend-wasm`, threads: info.threads };
  }
  if (name === 'wasm') {
    let wasm: { setThreadsCount?: (n: number) => void; getThreadsCount?: () => number };
    try {
      wasm = (await import(/* @vite-ignore */ '@tensorflow/tfjs-backend-wasm')) as typeof wasm;
    } catch {
      return '@tensorflow/tfjs-backend-wasm is not installed';
    }
    if (threads !== undefined) wasm.setThreadsCount?.(threads);
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend failed to initialise';
    // plain wasm after `native` in the same process: put the stock matMul kernels back
    if ((tf.getKernel('BatchMatMul', 'wasm')?.kernelFunc as { adapterkitNative?: unknown } | undefined)?.adapterkitNative) {
      (await importNative())?.uninstallNativeKernels();
    }
    return { pkg: '@tensorflow/tfjs-backend-wasm', ...(wasm.getThreadsCount ? { threads: wasm.getThreadsCount() } : {}) };
  }
  if (!(await tryImport('@tensorflow/tfjs-backend-cpu'))) return '@tensorflow/tfjs-backend-cpu is not installed';
  if (!(await tf.setBackend('cpu'))) return 'the cpu backend failed to initialise';
  return { pkg: '@tensorflow/tfjs-backend-cpu', threads: 1 };
}

/**
 * Select a backend: the preferred one, or the best available in the order tensorflow (tfjs-node-gpu / tfjs-node,
 * when the user installed one) → wasm → cpu. Registers the gradients and kernels training needs (missing in
 * tfjs-core alone / on wasm) and reports what it chose. With `preferred` given, failing to get it is an error.
 */
export async function initBackend(preferred?: BackendName, options: { threads?: number } = {}): Promise<BackendInfo> {
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  const candidates = preferred ? [preferred] : ORDER;
  for (const name of candidates) {
    const result = await activate(name, options.threads);
    if (typeof result === 'string') {
      skipped.push({ name, reason: result });
      continue;
    }
    await tf.ready();
    await registerTrainingSupport();
    return { name, tfBackend: tf.getBackend(), package: result.pkg, ...(result.threads !== undefined ? { threads: result.threads } : {}), skipped };
  }
  throw new AdapterKitError('NO_BACKEND', `No usable tfjs backend: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}
