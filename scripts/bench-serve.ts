/**
 * `pnpm bench:serve [--backend wasm|cpu] [--requests N] [--clients N] [--words N] [--route classify|forward]`: a load
 * test of `@adapterkit/serve` on loopback (127.0.0.1 only), measured in one run. The embedded model
 * (`packages/bert-mini/model`) serves small LoRA adapters (`lora[r=8]`, B initialised non-zero so they change the
 * output), each saved with a 2-label classification head, that this script generates into a temporary folder;
 * `--clients` concurrent clients (default 32) send `--requests` requests in total (default 320) naming the adapters
 * round-robin: `/v1/classify` with one text of `--words` words (default 12), or with `--route forward` `/v1/forward`
 * with one sequence of `--words` + 2 token ids (whose answer, the full `last_hidden_state` as JSON, costs more to
 * serialise than to compute on this small model).
 *
 * Scenarios: 1, 8 and 64 distinct adapters with mixed batching on (`maxBatch` 32, 5 ms window) and off (`maxBatch`
 * 1: one request at a time), and 64 adapters round-robin with `maxLoaded` 8 (LRU evictions on every batch). For each:
 * requests/s, p50/p99 latency, RSS and tfjs tensors before/after, adapter loads/evictions. Ratios checked against
 * the issue's targets: 8 adapters batched ≥ 3× one-at-a-time; 64 adapters ≥ 0.8× 1 adapter; RSS bounded with
 * `maxLoaded` 8. Bounded: every scenario sends a fixed number of requests (a few seconds each on two cores).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { initBackend } from '@adapterkit/backends';
import { lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { createAdapterServer } from '@adapterkit/serve';
import { addClassificationHead, getHeads, saveAdapterWithHead } from '@adapterkit/training';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
function positive(name: string, dflt: number, max: number): number {
  const v = Number(arg(name) ?? dflt);
  if (!Number.isInteger(v) || v <= 0 || v > max) throw new Error(`--${name} must be an integer in [1, ${max}], got ${arg(name)}`);
  return v;
}

const REQUESTS = positive('requests', 320, 10_000);
const CLIENTS = positive('clients', 32, 256);
const WORDS = positive('words', 12, 100);
const ROUTE = arg('route') ?? 'classify';
if (ROUTE !== 'classify' && ROUTE !== 'forward') throw new Error(`--route must be classify or forward, got ${ROUTE}`);
const VOCAB = ['the', 'meeting', 'is', 'moved', 'to', 'friday', 'win', 'a', 'free', 'cruise', 'now', 'please', 'call', 'me', 'about', 'report', 'budget', 'offer', 'today', 'team'];
const backend = await initBackend((arg('backend') ?? 'wasm') as 'wasm' | 'cpu', { threads: 1 });
const MODEL = fileURLToPath(new URL('../packages/bert-mini/model', import.meta.url));
const model = new AdapterModel(await loadHost(MODEL), { methods: [lora] });
console.log(`backend: ${backend.name}; model: packages/bert-mini/model (${model.info.numParameters.toLocaleString('en-US')} parameters)`);
console.log(`${REQUESTS} requests per scenario, ${CLIENTS} concurrent clients, POST /v1/${ROUTE} with one ${WORDS}-word text (${ROUTE === 'forward' ? 'as token ids' : 'tokenized by the server'}) each`);

// --- 64 small adapters, generated here
const dir = mkdtempSync(join(tmpdir(), 'adapterkit-bench-serve-'));
for (let i = 0; i < 64; i++) {
  const name = `a${String(i).padStart(2, '0')}`;
  model.addAdapter(name, 'lora[r=8]', { seed: i });
  for (const p of model.adapterParams(name)) if (p.key.includes('lora_B')) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.02, 'float32', i));
  addClassificationHead(model, name, { numLabels: 2, id2label: ['ham', 'spam'], seed: i });
  await saveAdapterWithHead(model, join(dir, name), name);
  model.deleteAdapter(name);
  getHeads(model).delete(name);
}
const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${String(i).padStart(2, '0')}`);
const text = (k: number): string => Array.from({ length: WORDS }, (_, j) => VOCAB[(k * 7 + j * 3) % VOCAB.length]).join(' ');
const ids = (k: number): number[] => [2, ...Array.from({ length: WORDS }, (_, j) => 5 + ((k * 131 + j * 17) % 4000)), 3];

interface Row {
  scenario: string;
  adapters: number;
  batching: boolean;
  maxLoaded: number;
  rps: number;
  p50: number;
  p99: number;
  rssBefore: number;
  rssAfter: number;
  tensorsBefore: number;
  tensorsAfter: number;
  loads: number;
  evictions: number;
  meanBatch: number;
}

async function scenario(adapters: number, batching: boolean, maxLoaded: number): Promise<Row> {
  const tensorsBefore = tf.memory().numTensors;
  const server = createAdapterServer({ model, adaptersDir: dir, modelDir: MODEL, maxLoaded, maxBatch: batching ? 32 : 1, batchWindowMs: batching ? 5 : 0 });
  const http = createServer(server.handler);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1/${ROUTE}`;
  const list = names(adapters);
  const send = async (k: number): Promise<number> => {
    const t = performance.now();
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ROUTE === 'classify' ? { adapter: list[k % list.length], inputs: [text(k)] } : { adapter: list[k % list.length], input_ids: [ids(k)] }) });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    return performance.now() - t;
  };
  // warm-up: one round over the adapters (loads them while they fit), one request per client
  for (let k = 0; k < Math.max(CLIENTS, Math.min(adapters, maxLoaded)); k += CLIENTS) await Promise.all(Array.from({ length: CLIENTS }, (_, c) => send(k + c)));
  const rssBefore = process.memoryUsage().rss;
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < REQUESTS) latencies.push(await send(next++));
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const rssAfter = process.memoryUsage().rss;
  const metrics = server.metrics.render();
  const val = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  await server.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  latencies.sort((a, b) => a - b);
  const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  return {
    scenario: `${adapters} adapter${adapters > 1 ? 's' : ''}, ${batching ? 'mixed batching' : 'one at a time'}${maxLoaded < adapters ? `, max-loaded ${maxLoaded}` : ''}`,
    adapters,
    batching,
    maxLoaded,
    rps: REQUESTS / seconds,
    p50: pct(50),
    p99: pct(99),
    rssBefore,
    rssAfter,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
    loads: val('adapterkit_adapter_loads_total'),
    evictions: val('adapterkit_adapter_evictions_total'),
    meanBatch: val('adapterkit_batch_rows_sum') / val('adapterkit_batch_rows_count'),
  };
}

// a discarded run first, so that no measured scenario pays for V8 and tfjs warming up
await scenario(8, true, 64);
const rows: Row[] = [];
for (const [a, b, m] of [
  [1, true, 64],
  [1, false, 64],
  [8, true, 64],
  [8, false, 64],
  [64, true, 64],
  [64, false, 64],
  [64, true, 8],
] as const) {
  const r = await scenario(a, b, m);
  rows.push(r);
  console.log(`  ${r.scenario}: ${r.rps.toFixed(1)} req/s`);
}
rmSync(dir, { recursive: true, force: true });

const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
console.log('\n| scenario | req/s | p50 ms | p99 ms | rows/forward | loads / evictions | RSS MB before → after | tensors before → after |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.scenario} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.meanBatch.toFixed(1)} | ${r.loads} / ${r.evictions} | ${mb(r.rssBefore)} → ${mb(r.rssAfter)} | ${r.tensorsBefore} → ${r.tensorsAfter} |`);
}
const find = (a: number, b: boolean, m = 64): Row => rows.find((r) => r.adapters === a && r.batching === b && r.maxLoaded === m)!;
const mixed8 = find(8, true).rps / find(8, false).rps;
const many = find(64, true).rps / find(1, true).rps;
const bounded = find(64, true, 8);
const growth = (bounded.rssAfter - bounded.rssBefore) / 2 ** 20;
console.log('');
console.log(`8 adapters, mixed batching vs one at a time: ${mixed8.toFixed(2)}× (target ≥ 3×) ${mixed8 >= 3 ? 'MET' : 'NOT MET'}`);
console.log(`64 adapters vs 1 adapter (mixed batching): ${many.toFixed(2)}× (target ≥ 0.8×) ${many >= 0.8 ? 'MET' : 'NOT MET'}`);
console.log(`64 adapters round-robin with max-loaded 8: RSS ${mb(bounded.rssBefore)} → ${mb(bounded.rssAfter)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MB) over ${bounded.loads} loads and ${bounded.evictions} evictions; tensors ${bounded.tensorsBefore} → ${bounded.tensorsAfter}`);
model.dispose();
