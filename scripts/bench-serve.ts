/**
 * `pnpm bench:serve [--backend wasm|cpu|native|auto] [--threads N] [--requests N] [--clients N] [--words N]
 * [--route classify|forward] [--window-ms N] [--rounds N] [--profile]`: a load
 * test of `@adapterkit/serve` on loopback (127.0.0.1 only), measured in one run. The embedded model
 * (`packages/bert-mini/model`) serves small LoRA adapters (`lora[r=8]`, B initialised non-zero so they change the
 * output), each saved with a 2-label classification head, that this script generates into a temporary folder;
 * `--clients` concurrent clients (default 32) send `--requests` requests in total (default 320) naming the adapters
 * round-robin: `/v1/classify` with one text of `--words` words (default 12), or with `--route forward` `/v1/forward`
 * with one sequence of `--words` + 2 token ids (whose answer, the full `last_hidden_state` as JSON, costs more to
 * serialise than to compute on this small model).
 *
 * Backend: `--backend` (default `wasm`) with `--threads` (default 1); `auto` is what `initBackend()` picks on this
 * machine (its order: tensorflow → webgpu → native → wasm → cpu) with its default threads unless `--threads` is given.
 *
 * Scenarios: 1, 8 and 64 distinct adapters with mixed batching on (`maxBatch` 32, `--window-ms` window, default 5)
 * and off (`maxBatch` 1: one request at a time), and 64 adapters round-robin with `maxLoaded` 8 (LRU evictions on every batch). For each:
 * requests/s, p50/p99 latency, RSS and tfjs tensors before/after, adapter loads/evictions. Ratios checked against
 * the issue's targets: 8 adapters batched ≥ 3× one-at-a-time; 64 adapters ≥ 0.8× 1 adapter; RSS bounded with
 * `maxLoaded` 8. Bounded: every scenario sends a fixed number of requests (a few seconds each on two cores), split
 * over `--rounds` rounds (default 4) in which the scenarios take turns, so that a load change during the run does
 * not favour one scenario; each round starts a fresh server (adapter loads of its warm-up are not timed). RSS and
 * tensors are taken from the first round's start to the last round's end; loads/evictions summed over the rounds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { describeBackend, initBackend } from '@adapterkit/backends';
import { lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { AdapterModel, BatchSplit, type SetupNode } from '@adapterkit/core';
import { loadTokenizer } from '@adapterkit/data';
import { createAdapterServer, mixedForward, type MixedRow } from '@adapterkit/serve';
import { addClassificationHead, getHeads, loadAdapterWithHead, saveAdapterWithHead } from '@adapterkit/training';

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
const ROUNDS = positive('rounds', 4, 64);
const CLIENTS = positive('clients', 32, 256);
const WORDS = positive('words', 12, 100);
const ROUTE = arg('route') ?? 'classify';
if (ROUTE !== 'classify' && ROUTE !== 'forward') throw new Error(`--route must be classify or forward, got ${ROUTE}`);
const VOCAB = ['the', 'meeting', 'is', 'moved', 'to', 'friday', 'win', 'a', 'free', 'cruise', 'now', 'please', 'call', 'me', 'about', 'report', 'budget', 'offer', 'today', 'team'];
const WINDOW_MS = Number(arg('window-ms') ?? 5);
if (!Number.isFinite(WINDOW_MS) || WINDOW_MS < 0 || WINDOW_MS > 1000) throw new Error(`--window-ms must be a number in [0, 1000], got ${arg('window-ms')}`);
const BACKEND = arg('backend') ?? 'wasm';
const threads = arg('threads') !== undefined ? positive('threads', 1, 64) : BACKEND === 'auto' ? undefined : 1;
const backend = await initBackend(BACKEND === 'auto' ? undefined : BACKEND, threads !== undefined ? { threads } : {});
const MODEL = fileURLToPath(new URL('../packages/bert-mini/model', import.meta.url));
const model = new AdapterModel(await loadHost(MODEL), { methods: [lora] });
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' / ');
console.log(`backend: ${describeBackend(backend)}${BACKEND === 'auto' ? ' (initBackend() pick)' : ''}; model: packages/bert-mini/model (${model.info.numParameters.toLocaleString('en-US')} parameters)`);
console.log(`load average (1/5/15 min) at start: ${load()}`);
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

/** CPU time (user + system) of a `process.cpuUsage(previous)` difference, in ms. */
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;

/**
 * `--profile`: the cost of one batch's parts, in-process (no HTTP), median of 3 interleaved runs each, as CPU time
 * of the process (one wasm thread computes, so this is the forward's own cost; wall time on a loaded machine adds
 * the time spent waiting for a core).
 */
async function profile(): Promise<void> {
  const tok = await loadTokenizer(MODEL);
  const texts = Array.from({ length: 32 }, (_, k) => text(k));
  const t0 = performance.now();
  const enc = texts.map((t) => tok.encode(t, null, { maxLength: 128, truncation: true }));
  const tokenizeMs = performance.now() - t0;
  const lengths = enc.map((e) => e.ids.length);
  const loaded = names(32);
  for (const n of loaded) await loadAdapterWithHead(model, join(dir, n), { loadAs: n });
  const rowsOf = (k: number, b: number): MixedRow[] => Array.from({ length: b }, (_, i) => ({ setup: loaded[i % k]!, inputIds: enc[i]!.ids, tokenTypeIds: enc[i]!.tokenTypeIds, outputs: 'logits' }));
  const setupOf = (k: number, b: number): SetupNode => {
    if (k === 1) return loaded[0]!;
    const sizes = Array.from({ length: k }, (_, g) => Math.floor(b / k) + (g < b % k ? 1 : 0));
    return BatchSplit(...loaded.slice(0, k), sizes);
  };
  const shapes: Array<[number, number]> = [[1, 1], [1, 32], [8, 32], [32, 32]];
  const times = new Map<string, { forward: number[]; mixed: number[] }>();
  for (let rep = 0; rep < 4; rep++) {
    for (const [k, b] of shapes) {
      const key = `${k}/${b}`;
      const e = times.get(key) ?? { forward: [], mixed: [] };
      times.set(key, e);
      // rows grouped per adapter, as mixedForward lays them out
      const order = rowsOf(k, b).map((r, i) => ({ r, i })).sort((x, y) => loaded.indexOf(x.r.setup as string) - loaded.indexOf(y.r.setup as string) || x.i - y.i);
      const width = Math.max(...order.map((o) => o.r.inputIds.length));
      model.setActiveAdapters(setupOf(k, b));
      let c0 = process.cpuUsage();
      tf.tidy(() => {
        const idsT = tf.tensor2d(order.flatMap((o) => Array.from({ length: width }, (_, j) => o.r.inputIds[j] ?? 0)), [b, width], 'int32');
        const mask = tf.tensor2d(order.flatMap((o) => Array.from({ length: width }, (_, j) => (j < o.r.inputIds.length ? 1 : 0))), [b, width], 'int32');
        model.forward({ inputIds: idsT, attentionMask: mask }).lastHiddenState.dataSync();
      });
      const forward = cpuMs(process.cpuUsage(c0));
      c0 = process.cpuUsage();
      mixedForward(model, rowsOf(k, b));
      const mixed = cpuMs(process.cpuUsage(c0));
      if (rep > 0) {
        e.forward.push(forward);
        e.mixed.push(mixed);
      }
    }
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  console.log(`\nprofile (in-process, CPU ms, median of 3): tokenising 32 texts ${tokenizeMs.toFixed(1)} ms; token lengths ${Math.min(...lengths)}–${Math.max(...lengths)}, each batch padded to its own longest row`);
  console.log('| rows | adapters | forward alone, CPU ms | mixedForward, CPU ms | per row, CPU ms | kernels |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const [k, b] of shapes) {
    const e = times.get(`${k}/${b}`)!;
    const info = await tf.profile(() => {
      mixedForward(model, rowsOf(k, b));
    });
    const m = median(e.mixed);
    console.log(`| ${b} | ${k} | ${median(e.forward).toFixed(0)} | ${m.toFixed(0)} | ${(m / b).toFixed(1)} | ${info.kernels.length} |`);
  }
  model.setActiveAdapters(null);
  for (const n of loaded) {
    model.deleteAdapter(n);
    getHeads(model).delete(n);
  }
}
if (process.argv.includes('--profile')) {
  await profile();
  rmSync(dir, { recursive: true, force: true });
  model.dispose();
  process.exit(0);
}

/** One scenario's measurement in one round. */
interface Part {
  seconds: number;
  latencies: number[];
  rssBefore: number;
  rssAfter: number;
  tensorsBefore: number;
  tensorsAfter: number;
  loads: number;
  evictions: number;
  rowsSum: number;
  forwards: number;
  /** Seconds the server spent computing batches (the rest: HTTP, JSON, tokenising, the clients, waiting). */
  computeSeconds: number;
}

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
  /** Share of the wall time the server spent computing batches. */
  busy: number;
}

/**
 * The load generator runs in a worker thread (its own event loop, on the other core when one is free), as clients on
 * other machines would: in the server's thread, every client's fetch and JSON work would wait for each blocking
 * forward, and clients answered by one batch would resubmit together, splitting the load into cohorts of small
 * batches. One worker serves the whole run, so its memory is in the RSS from the start.
 */
const CLIENT_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
// node:http with a keep-alive agent: fetch (undici) cost about 0.9 ms more CPU per request on this machine, taken
// from the two cores the server computes on
const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
function post(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
parentPort.on('message', async ({ url, bodies, clients }) => {
  try {
    const target = new URL(url);
    const latencies = new Array(bodies.length);
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const k = next++;
        const t = performance.now();
        const res = await post(target, bodies[k]);
        if (res.status !== 200) throw new Error('status ' + res.status + ' for ' + bodies[k] + ': ' + res.text);
        latencies[k] = performance.now() - t;
      }
    }));
    parentPort.postMessage({ latencies, seconds: (performance.now() - t0) / 1000 });
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.stack) || err) });
  }
});
`;
const clientWorker = new Worker(CLIENT_SOURCE, { eval: true });
clientWorker.unref();
/** Send `bodies` with `clients` concurrent clients from the worker; resolves with per-request latencies (ms) and the wall time. */
function runClients(url: string, bodies: string[], clients: number): Promise<{ latencies: number[]; seconds: number }> {
  return new Promise((resolve, reject) => {
    clientWorker.once('message', (m: { latencies?: number[]; seconds?: number; error?: string }) => {
      if (m.error !== undefined) reject(new Error(`load generator: ${m.error}`));
      else resolve({ latencies: m.latencies!, seconds: m.seconds! });
    });
    clientWorker.postMessage({ url, bodies, clients });
  });
}

async function scenario(adapters: number, batching: boolean, maxLoaded: number, requests: number): Promise<Part> {
  const tensorsBefore = tf.memory().numTensors;
  // requestTimeoutMs: on a loaded machine a one-at-a-time request can wait behind 31 others for longer than the 30 s
  // default, and a 504 would end the run
  const server = createAdapterServer({ model, adaptersDir: dir, modelDir: MODEL, maxLoaded, maxBatch: batching ? 32 : 1, batchWindowMs: batching ? WINDOW_MS : 0, requestTimeoutMs: 600_000 });
  const http = createServer(server.handler);
  // A forward blocks the event loop; with Node's 5 s keep-alive timeout, a loaded machine lets the timer phase close a
  // pooled connection whose next request is already waiting to be read (ECONNRESET at the client).
  http.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/v1/${ROUTE}`;
  const list = names(adapters);
  const body = (k: number): string => JSON.stringify(ROUTE === 'classify' ? { adapter: list[k % list.length], inputs: [text(k)] } : { adapter: list[k % list.length], input_ids: [ids(k)] });
  // warm-up: one round over the adapters (loads them while they fit), one request per client
  await runClients(url, Array.from({ length: Math.max(CLIENTS, Math.min(adapters, maxLoaded)) }, (_, k) => body(k)), CLIENTS);
  const rssBefore = process.memoryUsage().rss;
  const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const warm = server.metrics.render();
  const { latencies, seconds } = await runClients(url, Array.from({ length: requests }, (_, k) => body(k + 1000)), CLIENTS);
  const rssAfter = process.memoryUsage().rss;
  const metrics = server.metrics.render();
  const val = (name: string): number => metric(metrics, name);
  // batch sizes and compute time of the measured requests only (the warm-up's subtracted)
  const measured = (name: string): number => metric(metrics, name) - metric(warm, name);
  await server.close();
  http.closeAllConnections();
  await new Promise<void>((resolve) => http.close(() => resolve()));
  return {
    seconds,
    latencies,
    rssBefore,
    rssAfter,
    tensorsBefore,
    tensorsAfter: tf.memory().numTensors,
    loads: val('adapterkit_adapter_loads_total'),
    evictions: val('adapterkit_adapter_evictions_total'),
    rowsSum: measured('adapterkit_batch_rows_sum'),
    forwards: measured('adapterkit_batch_rows_count'),
    computeSeconds: measured('adapterkit_batch_compute_seconds_sum'),
  };
}

// a discarded run first, so that no measured scenario pays for V8 and tfjs warming up
await scenario(8, true, 64, CLIENTS);
// Rounds: every scenario runs a share of its requests in each round, scenarios interleaved, so that a change of the
// machine's load during the run weighs on every scenario alike (their ratios are what the targets are about).
const CONFIGS = [
  [1, true, 64],
  [1, false, 64],
  [8, true, 64],
  [8, false, 64],
  [64, true, 64],
  [64, false, 64],
  [64, true, 8],
] as const;
const parts: Part[][] = CONFIGS.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  const share = Math.floor(REQUESTS / ROUNDS) + (round < REQUESTS % ROUNDS ? 1 : 0);
  for (const [c, [a, b, m]] of CONFIGS.entries()) parts[c]!.push(await scenario(a, b, m, share));
  console.log(`  round ${round + 1}/${ROUNDS} done (load average ${load()})`);
}
const rows: Row[] = CONFIGS.map(([adapters, batching, maxLoaded], c) => {
  const ps = parts[c]!;
  const sum = (f: (p: Part) => number): number => ps.reduce((acc, p) => acc + f(p), 0);
  const latencies = ps.flatMap((p) => p.latencies).sort((x, y) => x - y);
  const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor((q / 100) * latencies.length))]!;
  const seconds = sum((p) => p.seconds);
  return {
    scenario: `${adapters} adapter${adapters > 1 ? 's' : ''}, ${batching ? 'mixed batching' : 'one at a time'}${maxLoaded < adapters ? `, max-loaded ${maxLoaded}` : ''}`,
    adapters,
    batching,
    maxLoaded,
    rps: latencies.length / seconds,
    p50: pct(50),
    p99: pct(99),
    rssBefore: ps[0]!.rssBefore,
    rssAfter: ps[ps.length - 1]!.rssAfter,
    tensorsBefore: ps[0]!.tensorsBefore,
    tensorsAfter: ps[ps.length - 1]!.tensorsAfter,
    loads: sum((p) => p.loads),
    evictions: sum((p) => p.evictions),
    meanBatch: sum((p) => p.rowsSum) / sum((p) => p.forwards),
    busy: sum((p) => p.computeSeconds) / seconds,
  };
});
rmSync(dir, { recursive: true, force: true });
console.log(`load average (1/5/15 min) at the end: ${load()}`);

const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
console.log('\n| scenario | req/s | p50 ms | p99 ms | rows/forward | computing | loads / evictions | RSS MB before → after | tensors before → after |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  console.log(`| ${r.scenario} | ${r.rps.toFixed(1)} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.meanBatch.toFixed(1)} | ${(100 * r.busy).toFixed(0)} % | ${r.loads} / ${r.evictions} | ${mb(r.rssBefore)} → ${mb(r.rssAfter)} | ${r.tensorsBefore} → ${r.tensorsAfter} |`);
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
