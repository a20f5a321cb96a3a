import { nodeLogicalCores } from '#platform';

/** Where the library runs: Node (worker_threads, `node:` modules) or a browser-like global scope. */
export type Environment = 'node' | 'browser';

/** `node` when `process.versions.node` is set, else `browser` (window, web worker, Deno with web APIs). */
export function detectEnvironment(): Environment {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string' ? 'node' : 'browser';
}

/** Logical cores: `navigator.hardwareConcurrency` (Node ≥ 21 and browsers) or `os.availableParallelism()` in Node. */
export async function logicalCores(): Promise<number> {
  if (detectEnvironment() === 'node') return nodeLogicalCores();
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n > 0 ? n : 1;
}
