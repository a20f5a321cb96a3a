/** Shared set-up of the serve tests (not exported from the package). */
import '@tensorflow/tfjs-backend-cpu';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, type AnyAdapterMethod, type MethodExtension } from '@adapterkit/core';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { plugins as prefixTuning } from '@adapterkit/prefix-tuning';
import { plugins as union } from '@adapterkit/union';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const GOLDEN_BERT = join(REPO, 'fixtures', 'golden', 'models', 'bert');
export const METHODS: ReadonlyArray<AnyAdapterMethod | MethodExtension> = [...bottleneck, ...lora, ...prefixTuning, ...union];
/** Golden BERT adapters of several methods (bottleneck, LoRA, IA³, prefix tuning, MAM union). */
export const CASES = ['pfeiffer', 'houlsby', 'parallel', 'lora', 'ia3', 'prefix_tuning', 'union'] as const;

export async function bertModel(): Promise<AdapterModel> {
  await tf.setBackend('cpu');
  return new AdapterModel(await loadHost(GOLDEN_BERT), { methods: METHODS });
}

/**
 * A temporary adapters folder: a symlink per golden case, and `broken/` whose adapter_config.json is not a
 * config (it fails to load).
 */
export function adaptersFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'adapterkit-serve-'));
  for (const c of CASES) symlinkSync(join(REPO, 'fixtures', 'golden', 'cases', 'bert', c), join(dir, c));
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'adapter_config.json'), '{"config": {"architecture": "no-such-method"}, "name": "broken"}');
  return dir;
}

/** Deterministic token ids in [3, 500) of length n, varied by seed. */
export function ids(n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => 3 + ((seed * 131 + i * 71) % 497));
}

/** Largest absolute difference of two nested number arrays of the same shape. */
export function maxDiff(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b);
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return Infinity;
  return a.reduce((m: number, x, i) => Math.max(m, maxDiff(x, b[i])), 0);
}

/** A started server on 127.0.0.1 and a JSON client for it. */
export interface Running {
  readonly url: string;
  readonly server: import('./server').AdapterServer;
  readonly http: import('node:http').Server;
  request(path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: any; text: string }>;
  stop(): Promise<void>;
}

/** Start {@link createAdapterServer} with `options` on an ephemeral loopback port. */
export async function start(options: import('./server').AdapterServerOptions): Promise<Running> {
  const { createServer } = await import('node:http');
  const { createAdapterServer } = await import('./server');
  const server = createAdapterServer(options);
  const http = createServer(server.handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as import('node:net').AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    server,
    http,
    async request(path, body, headers = {}) {
      const init: RequestInit = body === undefined ? { headers } : { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) };
      const res = await fetch(url + path, init);
      const text = await res.text();
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
    async stop() {
      await server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
