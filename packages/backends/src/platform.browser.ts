/**
 * The browser variant of `#platform` (package.json `imports`, any condition but `node`): the Node-only pieces of
 * backend set-up do not exist here. `initBackend` never calls them outside Node; a direct call is an error that
 * says so. Nothing here imports a `node:` module, so browser bundles of this package contain none.
 */
import { BackendError } from './errors';

/** What `provideNodeWebGPU` finds in Node (never in a browser). */
export interface NodeGpuAdapter {
  readonly description: string;
  readonly fallback: boolean;
  readonly icd?: string;
}

/** The workers tfjs-backend-wasm preloads (the most threads wasm can use). */
export const WASM_WORKER_POOL = 8;

function nodeOnly(what: string): never {
  throw new BackendError('NODE_ONLY', `${what} runs in Node only (this is the browser build of @adapterkit/backends)`);
}

/** Node only: browsers report their cores as `navigator.hardwareConcurrency`. */
export async function nodeLogicalCores(): Promise<number> {
  return nodeOnly('os.availableParallelism()');
}

/** Node only: a browser page starts wasm threads itself when it is cross-origin isolated. */
export async function initThreadedWasm(_wasm: unknown, _threads: number): Promise<{ readonly ok: true; readonly threads: number } | { readonly ok: false; readonly reason: string }> {
  return nodeOnly('the threaded-wasm shim for worker_threads');
}

/** Node only: browsers have their own `navigator.gpu`. */
export async function provideNodeWebGPU(_hardwareOnly: boolean): Promise<NodeGpuAdapter | string> {
  return nodeOnly('WebGPU through the `webgpu` package (Dawn)');
}
