/**
 * Node-only set-up, picked by package.json `imports` (`#platform`) under the `node` condition. Each piece is imported
 * lazily, so a Node process that never asks for threaded wasm or WebGPU never loads them. Browser bundles get
 * `platform.browser.ts` instead and contain no `node:` module.
 */
import type { NodeGpuAdapter } from './node/webgpu';
import type { ThreadedWasmResult } from './node/wasm-threads';

export type { NodeGpuAdapter };
export { WASM_WORKER_POOL } from './node/wasm-threads';

/** `os.availableParallelism()` (or the CPU count on older Node). */
export async function nodeLogicalCores(): Promise<number> {
  const os = await import('node:os');
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

/** Starts the threaded wasm module in Node (see `node/wasm-threads.ts`). */
export async function initThreadedWasm(wasm: { setThreadsCount(n: number): void; getThreadsCount(): number }, threads: number): Promise<ThreadedWasmResult> {
  return (await import('./node/wasm-threads')).initThreadedWasm(wasm, threads);
}

/** Provides `navigator.gpu` in Node through the `webgpu` package (see `node/webgpu.ts`). */
export async function provideNodeWebGPU(hardwareOnly: boolean): Promise<NodeGpuAdapter | string> {
  return (await import('./node/webgpu')).provideNodeWebGPU(hardwareOnly);
}
