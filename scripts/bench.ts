/**
 * `pnpm bench [--steps N] [--quick] [--backend wasm|cpu|webgpu|…] [--threads N] [--peer] [--data-parallel [--rounds N]]`: training and inference
 * cost of a Pfeiffer adapter on a BERT-like model (4 layers, hidden 256, 4 heads, FFN 1024, vocab 8000; batch
 * 16 × 128 tokens), measured in one run on one backend (default wasm), every figure labelled with the backend
 * actually active and its thread count:
 *
 * - the adapter and full steps at all threads (`--threads`, default all cores) and at 1 thread, each in its own
 *   process (tfjs fixes wasm's thread count per process), with a 1024³ matMul microbenchmark beside each;
 * - `--peer`: the reference library's same training step (adapter-transformers 3.2.1 on PyTorch,
 *   `../shared/reference/peer_bench.py`) at the same thread counts in the same run, and
 *   `AdapterKit / reference step time` per mode and thread count; skipped, with the set-up to do, when the
 *   reference is not set up (`ADAPTERKIT_PEER_PYTHONPATH`, see {@link peerSetup});
 * - `--backend native`: the base model's forward with the native kernels installed and uninstalled (plain wasm),
 *   alternating in one process (so drift in the machine's speed hits both alike), at all threads and at 1 thread,
 *   and `wasm / native` forward time;
 *
 * - adapter training step (adapter + classification head trained, base frozen) vs full fine-tuning step, their ratio
 *   and tokens/s — both through `train()` of `@adapterkit/training`, step time = its `stepMs` (collate, forward,
 *   backward, clipping, AdamW, loss read-back);
 * - forward time of the base model vs the model with the adapter active, and the overhead ratio;
 * - peak RSS of each phase, each in its own process (the wasm heap never shrinks, so one process would report the
 *   first phase's high-water mark for both);
 * - where the step time goes: three profiled steps of each mode (`tf.profile`) count the matMul work (2·M·N·K per
 *   kernel call), the time spent in matMul kernels and their throughput, and give the matMul floor of each step:
 *   its matMul work at the 2-D matMul throughput this backend reached (the floor no kernel-level tuning of the other
 *   ops can beat).
 *
 * - on a CPU backend with 2+ threads, the adapter step as `adapterkit train --workers auto` runs it there:
 *   `threads` data-parallel workers × 1 thread, and its scaling from the 1-thread step (next to the reference's);
 *
 * `--data-parallel` instead runs only the comparison of a backend's own threads with data-parallel workers, on wasm
 * and native ({@link dataParallelBench}); `adapterkit train --workers auto` follows its ratios.
 *
 * Medians over the timed steps after warm-up. Finishes in about 3 minutes (`--quick`: about 1.5 minutes).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, describeBackend } from '@adapterkit/backends';
import { AdapterModel, type ModelInputs } from '@adapterkit/core';
import { initHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { addClassificationHead, disposeHeads, train, type Example } from '@adapterkit/training';
import { dataParallelPhase, type DataParallelPhaseResult } from './lib/bench-data-parallel';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const quick = process.argv.includes('--quick');
const steps = Number(arg('steps') ?? (quick ? 2 : 5));
/** Untimed steps first: a fresh process grows the wasm heap during its first steps. */
const warmup = 2;
const backendName = arg('backend') ?? 'wasm';
const threads = Number(arg('threads') ?? availableParallelism());
const phase = arg('phase') as Phase | undefined;
/**
 * A process's work: a training mode (with the forward comparison and profile unless `--light`), or (`forward`,
 * `--backend native` only) base forwards alternating between the native kernels and plain wasm.
 */
type Phase = 'adapter' | 'full' | 'forward' | 'dp';
/** A phase that times the training step and the matMul only (no forward comparison, no profile). */
const light = process.argv.includes('--light');
const BATCH = 16;
const SEQ = 128;
const CONFIG = {
  model_type: 'bert',
  vocab_size: 8000,
  hidden_size: 256,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  intermediate_size: 1024,
  max_position_embeddings: 512,
};

let peakRss = 0;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mb = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MB`;

function makeData(n: number, seed: number): Example[] {
  let s = seed;
  const next = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0);
  return Array.from({ length: n }, () => ({
    inputIds: Array.from({ length: SEQ }, () => 3 + (next() % (CONFIG.vocab_size - 3))),
    labels: next() % 2,
  }));
}

function newModel(): AdapterModel {
  const model = new AdapterModel(initHost(CONFIG, 1), { methods: [...bottleneck], warn: () => undefined });
  addClassificationHead(model, 'cls', { numLabels: 2, seed: 2 });
  return model;
}

/** Median step time (ms) of a `train()` run of warm-up + `steps` steps. */
async function stepTime(model: AdapterModel, mode: 'adapter' | 'full'): Promise<number> {
  const times: number[] = [];
  await train(model, {
    mode,
    ...(mode === 'adapter' ? { adapter: 'task' } : {}),
    head: 'cls',
    trainData: makeData(BATCH * (warmup + steps), 3),
    batchSize: BATCH,
    maxSteps: warmup + steps,
    shuffle: false,
    lr: 1e-4,
    onProgress: (e) => {
      sampleRss();
      if (e.type === 'step' && e.step > warmup) times.push(e.stepMs);
    },
  });
  return median(times);
}

/** Training steps profiled per mode; the profile reports their mean (one step alone varies by ±20 % here). */
const PROFILED_STEPS = 3;

/** MatMul work and time per training step, from profiled steps (`tf.profile` times every kernel on its own). */
interface MatMulProfile {
  /** FLOP of 2-D matMuls (dense layers) and of batched ones (attention), 2·M·N·K per product. */
  readonly flops2d: number;
  readonly flopsBatched: number;
  readonly ms2d: number;
  readonly msBatched: number;
  /** Every kernel's time per step (registered kernels only, so none is counted twice). */
  readonly msAll: number;
}

/** FLOP of a matMul kernel call from its shapes: output `[..., m, n]`, `a` `[..., m, k]` or `[..., k, m]` (transposed). */
function matMulFlops(a: readonly number[], out: readonly number[]): number {
  const m = out[out.length - 2]!;
  const k = a[a.length - 2] === m ? a[a.length - 1]! : a[a.length - 2]!;
  return 2 * out.reduce((p, d) => p * d, 1) * k;
}

async function profileStep(model: AdapterModel, mode: 'adapter' | 'full'): Promise<MatMulProfile> {
  const info = await tf.profile(async () => {
    await train(model, { mode, ...(mode === 'adapter' ? { adapter: 'task' } : {}), head: 'cls', trainData: makeData(BATCH * PROFILED_STEPS, 5), batchSize: BATCH, maxSteps: PROFILED_STEPS, shuffle: false, lr: 1e-4 });
  });
  let [flops2d, flopsBatched, ms2d, msBatched, msAll] = [0, 0, 0, 0, 0];
  for (const k of info.kernels) {
    // A custom-gradient op (tf.customGrad, e.g. `linear`) is recorded as one entry ("unnamed scope") timing the
    // kernels it runs, which are recorded too: count only registered kernels, or their time would count twice.
    if (!tf.getKernel(k.name, tf.getBackend())) continue;
    const ms = Number(k.kernelTimeMs) || 0;
    msAll += ms;
    if (k.name !== 'BatchMatMul' && k.name !== '_FusedMatMul') continue;
    const out = k.outputShapes[0]!;
    const flops = matMulFlops(k.inputShapes[0]!, out);
    if (out.length > 2 && out.slice(0, -2).reduce((p, d) => p * d, 1) > 1) {
      flopsBatched += flops;
      msBatched += ms;
    } else {
      flops2d += flops;
      ms2d += ms;
    }
  }
  const per = (x: number): number => x / PROFILED_STEPS;
  return { flops2d: per(flops2d), flopsBatched: per(flopsBatched), ms2d: per(ms2d), msBatched: per(msBatched), msAll: per(msAll) };
}

/**
 * Forward pairs timed (`--quick`: 9). Base and adapter forwards alternate, and which of the two runs first alternates
 * per pair, so drift in the machine's speed and the order within a pair hit both alike; the overhead is the median
 * of the per-pair ratios (with its quartiles), which a loaded machine disturbs far less than a ratio of medians.
 */
const FORWARD_RUNS = quick ? 9 : 25;

/** Forward times (ms) of the base model and of the model with adapter `name` active, measured in alternating pairs. */
async function forwardTimes(model: AdapterModel, inputs: ModelInputs, name: string): Promise<{ baseForwardMs: number; adapterForwardMs: number; forwardRatio: readonly [number, number, number] }> {
  const times: Record<'base' | 'adapter', number[]> = { base: [], adapter: [] };
  for (let i = 0; i < warmup + FORWARD_RUNS; i++) {
    for (const which of i % 2 ? (['adapter', 'base'] as const) : (['base', 'adapter'] as const)) {
      model.setActiveAdapters(which === 'base' ? null : name);
      const t0 = performance.now();
      const out = model.forward(inputs);
      await out.lastHiddenState.data();
      const dt = performance.now() - t0;
      tf.dispose(out.poolerOutput ? [out.lastHiddenState, out.poolerOutput] : [out.lastHiddenState]);
      sampleRss();
      if (i >= warmup) times[which].push(dt);
    }
  }
  const ratios = times.adapter.map((t, i) => t / times.base[i]!).sort((a, b) => a - b);
  const q = (f: number): number => ratios[Math.round(f * (ratios.length - 1))]!;
  return { baseForwardMs: median(times.base), adapterForwardMs: median(times.adapter), forwardRatio: [q(0.25), median(ratios), q(0.75)] };
}

const MATMUL_N = 1024;

/** Median time (ms) of a `[1024, 1024] · [1024, 1024]` matMul with its read-back, 5 runs after 2 warm-ups. */
async function matMulMs(): Promise<number> {
  const a = tf.randomNormal([MATMUL_N, MATMUL_N], 0, 1, 'float32', 1);
  const b = tf.randomNormal([MATMUL_N, MATMUL_N], 0, 1, 'float32', 2);
  const times: number[] = [];
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    await c.data();
    if (i >= 2) times.push(performance.now() - t0);
    c.dispose();
  }
  tf.dispose([a, b]);
  return median(times);
}

/** What a phase process reports. */
interface PhaseResult {
  readonly backend: string;
  readonly threads?: number;
  readonly matMulMs: number;
  readonly params: number;
  /** Absent for the forward-only phase. */
  readonly stepMs?: number;
  readonly peakRss: number;
  readonly profile?: MatMulProfile;
  readonly baseForwardMs?: number;
  readonly adapterForwardMs?: number;
  /** `forward` phase: the base forward with the native kernels uninstalled (plain wasm), alternating with them. */
  readonly wasmBaseForwardMs?: number;
  /** Quartiles and median of the per-pair adapter / base forward time ratios: [q1, median, q3]. */
  readonly forwardRatio?: readonly [number, number, number];
}

/** Median base forward (ms) with `@adapterkit/native`'s kernels installed and uninstalled, alternating per run. */
async function nativeVsWasmForward(model: AdapterModel, inputs: ModelInputs): Promise<{ baseForwardMs: number; wasmBaseForwardMs: number }> {
  const native = await import('@adapterkit/native');
  const times: Record<'native' | 'wasm', number[]> = { native: [], wasm: [] };
  try {
    for (let i = 0; i < warmup + FORWARD_RUNS; i++) {
      for (const which of ['native', 'wasm'] as const) {
        if (which === 'native') native.installNativeKernels({ threads });
        else native.uninstallNativeKernels();
        const t0 = performance.now();
        const out = model.forward(inputs);
        await out.lastHiddenState.data();
        const dt = performance.now() - t0;
        tf.dispose(out.poolerOutput ? [out.lastHiddenState, out.poolerOutput] : [out.lastHiddenState]);
        sampleRss();
        if (i >= warmup) times[which].push(dt);
      }
    }
  } finally {
    native.installNativeKernels({ threads });
  }
  return { baseForwardMs: median(times.native), wasmBaseForwardMs: median(times.wasm) };
}

/**
 * One phase, in this process: adapter training (with the forward comparison), full fine-tuning, or only the
 * forward comparison (`forward`: what `--backend native` compares with plain wasm).
 */
async function runPhase(which: Exclude<Phase, 'dp'>): Promise<PhaseResult> {
  const backend = await initBackend(backendName, { threads });
  const mm = await matMulMs();
  const model = newModel();
  if (which === 'forward') {
    if (backendName !== 'native') throw new Error(`the forward phase compares native with plain wasm; got --backend ${backendName}`);
    const ids = makeData(BATCH, 9).map((e) => e.inputIds as number[]);
    const inputs: ModelInputs = { inputIds: tf.tensor2d(ids, [BATCH, SEQ], 'int32') };
    const forward = await nativeVsWasmForward(model, inputs);
    tf.dispose([inputs.inputIds]);
    disposeHeads(model);
    model.dispose();
    return { backend: describeBackend(backend), ...(backend.threads !== undefined ? { threads: backend.threads } : {}), matMulMs: mm, params: 0, peakRss, ...forward };
  }
  let forward: Pick<PhaseResult, 'baseForwardMs' | 'adapterForwardMs' | 'forwardRatio'> = {};
  let params = model.info.numParameters;
  if (which === 'adapter') {
    model.addAdapter('task', 'pfeiffer', { seed: 3 });
  }
  if (which === 'adapter' && !light) {
    const ids = makeData(BATCH, 9).map((e) => e.inputIds as number[]);
    const inputs: ModelInputs = { inputIds: tf.tensor2d(ids, [BATCH, SEQ], 'int32') };
    forward = await forwardTimes(model, inputs, 'task');
    tf.dispose([inputs.inputIds]);
  }
  if (which === 'adapter') params = model.adapterSummary()[0]!.numParams;
  const stepMs = await stepTime(model, which);
  const profile = light ? undefined : await profileStep(model, which);
  disposeHeads(model);
  model.dispose();
  return { backend: describeBackend(backend), ...(backend.threads !== undefined ? { threads: backend.threads } : {}), matMulMs: mm, params, stepMs, peakRss, ...(profile ? { profile } : {}), ...forward };
}

/**
 * The reference (peer) set-up, from the environment: `ADAPTERKIT_PEER_PYTHONPATH` (required: adapter-transformers
 * 3.2.1 `src` and huggingface_hub 0.13.4 `src`, `:`-separated), `ADAPTERKIT_PEER_BLAS` (a folder with OpenBLAS's
 * `libblas.so.3`, put on LD_LIBRARY_PATH for a fair BLAS), `ADAPTERKIT_PEER_PYTHON` (default `/usr/bin/python3`, with
 * torch), `ADAPTERKIT_PEER_SCRIPT` (default `../shared/reference/peer_bench.py` beside the repository).
 */
function peerSetup(): { python: string; script: string; env: NodeJS.ProcessEnv } | string {
  const howTo =
    'set ADAPTERKIT_PEER_PYTHONPATH=<adapter-transformers 3.2.1>/src:<huggingface_hub 0.13.4>/src (and ADAPTERKIT_PEER_BLAS=<OpenBLAS lib folder>, ' +
    'ADAPTERKIT_PEER_SCRIPT=<peer_bench.py>); steps in ../shared/reference/REFERENCE-SETUP.md';
  const pythonPath = process.env['ADAPTERKIT_PEER_PYTHONPATH'];
  if (!pythonPath) return `the reference is not set up: ${howTo}`;
  const python = process.env['ADAPTERKIT_PEER_PYTHON'] ?? '/usr/bin/python3';
  const script = process.env['ADAPTERKIT_PEER_SCRIPT'] ?? fileURLToPath(new URL('../../shared/reference/peer_bench.py', import.meta.url));
  if (!existsSync(python)) return `no Python at ${python} (ADAPTERKIT_PEER_PYTHON)`;
  if (!existsSync(script)) return `no peer_bench.py at ${script}: ${howTo}`;
  const blas = process.env['ADAPTERKIT_PEER_BLAS'];
  return { python, script, env: { ...process.env, PYTHONPATH: pythonPath, ...(blas ? { LD_LIBRARY_PATH: blas } : {}) } };
}

/** The reference's median step time (ms) for `mode` at `threads` threads, or the error. */
function peerStep(setup: { python: string; script: string; env: NodeJS.ProcessEnv }, mode: 'adapter' | 'full', t: number): number | string {
  const env = { ...setup.env, OPENBLAS_NUM_THREADS: String(t), OMP_NUM_THREADS: String(t), OMP_WAIT_POLICY: 'PASSIVE' };
  const r = spawnSync(setup.python, [setup.script, `mode=${mode}`, `threads=${t}`, `vocab=${CONFIG.vocab_size}`, `steps=${steps}`], { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return `peer failed (exit ${r.status ?? r.signal}): ${(r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? ''}`;
  return (JSON.parse(line) as { stepMs: number }).stepMs;
}

const RESULT_TAG = 'BENCH_PHASE_RESULT ';

/**
 * `--data-parallel`: the adapter step with 1 process × `threads` threads vs `threads` data-parallel workers × 1
 * thread (`@adapterkit/data-parallel`), same model and data, each in fresh processes, alternating `ROUNDS` times so
 * that drift in the machine's load hits both alike, on wasm and on native (`@adapterkit/native`; skipped with the
 * reason when it cannot run here); prints each round, the medians, the ratio and which is faster. These ratios are
 * what `adapterkit train --workers auto` is decided from (apps/cli/src/runtime/workers.ts).
 */
function dataParallelBench(): void {
  const ROUNDS = Number(arg('rounds') ?? 3);
  const spawnPhase = <T>(which: 'adapter' | 'dp', backend: string, t: number): T | string => {
    const args = [...process.execArgv, process.argv[1]!, '--phase', which, '--steps', String(steps), '--backend', backend, '--threads', String(t), '--light'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
    const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_TAG));
    if (r.status !== 0 || !line) return `bench phase '${which}' on ${backend} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? ''}`;
    return JSON.parse(line.slice(RESULT_TAG.length)) as T;
  };
  const t0 = performance.now();
  console.log(`adapter step, batch ${BATCH} × ${SEQ}, ${steps} timed steps after ${warmup} warm-up; 1 process × ${threads} threads vs ${threads} workers × 1 thread; ${ROUNDS} alternating rounds per backend`);
  const rows: Array<[string, string]> = [];
  for (const backend of ['wasm', 'native']) {
    const threaded: PhaseResult[] = [];
    const parallel: DataParallelPhaseResult[] = [];
    let skipped: string | undefined;
    for (let i = 0; i < ROUNDS && !skipped; i++) {
      const a = spawnPhase<PhaseResult>('adapter', backend, threads);
      const b = typeof a === 'string' ? a : spawnPhase<DataParallelPhaseResult>('dp', backend, threads);
      if (typeof a === 'string' || typeof b === 'string') {
        skipped = typeof a === 'string' ? a : (b as string);
        break;
      }
      // a native phase on a machine without the addon falls back silently to no backend of that name: refuse it
      if (!a.backend.startsWith(backend)) {
        skipped = `the 1-process phase ran on ${a.backend}`;
        break;
      }
      threaded.push(a);
      parallel.push(b);
      console.log(`  ${backend} round ${i + 1}: ${threads} threads ${a.stepMs!.toFixed(0)} ms, ${threads} workers ${b.stepMs.toFixed(0)} ms  (threads / workers ${(a.stepMs! / b.stepMs).toFixed(2)})`);
    }
    if (skipped) {
      rows.push([`${backend}`, `skipped: ${skipped}`]);
      continue;
    }
    // the median of the per-round ratios: a round's two phases ran back to back, so load drift hits both alike
    const ratio = median(threaded.map((r, i) => r.stepMs! / parallel[i]!.stepMs));
    console.log(`  ${backend} 1 process: ${threaded[0]!.backend}`);
    console.log(`  ${backend} workers:   ${parallel[0]!.backends[0]} each; main thread ${parallel[0]!.main}`);
    rows.push(
      [`${backend}: adapter step, 1 process × ${threads} threads`, `${median(threaded.map((r) => r.stepMs!)).toFixed(0)} ms (median of rounds)`],
      [`${backend}: adapter step, ${threads} workers × 1 thread`, `${median(parallel.map((r) => r.stepMs)).toFixed(0)} ms (median of rounds)`],
      [`${backend}: threads / workers step time`, `${ratio.toFixed(2)} (median of the ${ROUNDS} rounds' ratios; faster here: ${ratio > 1 ? `${threads} workers × 1 thread (data-parallel)` : `1 process × ${threads} threads`})`],
    );
  }
  rows.push(['wall time', `${((performance.now() - t0) / 1000).toFixed(1)} s`]);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}

if (phase === 'dp') {
  const r = await dataParallelPhase({ backend: backendName, config: CONFIG, trainData: makeData(BATCH * (warmup + steps), 3), batchSize: BATCH, warmup, steps, workers: threads });
  console.log(`${RESULT_TAG}${JSON.stringify(r)}`);
} else if (phase) {
  console.log(`${RESULT_TAG}${JSON.stringify(await runPhase(phase))}`);
} else if (process.argv.includes('--data-parallel')) {
  dataParallelBench();
} else {
  const t0 = performance.now();
  /** Run a phase in a fresh process (same Node flags and loader), so that its peak RSS is its own. */
  const run = (which: Phase, t: number, lightPhase: boolean): PhaseResult => {
    const args = [...process.execArgv, process.argv[1]!, '--phase', which, '--steps', String(steps), '--backend', backendName, '--threads', String(t), ...(lightPhase ? ['--light'] : [])];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_TAG));
    if (r.status !== 0 || !line) throw new Error(`bench phase '${which}' failed (exit ${r.status ?? r.signal}):\n${r.stdout}`);
    return JSON.parse(line.slice(RESULT_TAG.length)) as PhaseResult;
  };
  /** The data-parallel adapter step (`--phase dp`) in a fresh process; a failure is reported in its row, not thrown. */
  const runDataParallel = (t: number): DataParallelPhaseResult | string => {
    const args = [...process.execArgv, process.argv[1]!, '--phase', 'dp', '--steps', String(steps), '--backend', backendName, '--threads', String(t), '--light'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
    const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_TAG));
    if (r.status !== 0 || !line) return `failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] ?? ''}`;
    return JSON.parse(line.slice(RESULT_TAG.length)) as DataParallelPhaseResult;
  };
  const adapter = run('adapter', threads, false);
  const full = run('full', threads, false);
  const cpuBackend = adapter.threads !== undefined;
  const adapter1 = cpuBackend && threads > 1 ? run('adapter', 1, true) : undefined;
  const full1 = cpuBackend && threads > 1 ? run('full', 1, true) : undefined;
  /**
   * The adapter step as `adapterkit train --workers auto` runs it on a CPU backend with 2+ cores: `threads` data-parallel
   * workers × 1 thread (README, "Backends"), so that the scaling printed next to the reference's is also the default's.
   */
  const adapterDp = cpuBackend && threads > 1 ? runDataParallel(threads) : undefined;
  /** `--backend native`: base forwards alternating native and plain wasm, at all threads and at 1 thread. */
  const nativeForwards = backendName === 'native' ? [...new Set([threads, 1])].map((t) => run('forward', t, false)) : [];
  const wantPeer = process.argv.includes('--peer');
  const setup = wantPeer ? peerSetup() : 'not asked for (--peer)';
  const peerThreads = [...new Set([1, threads])];
  const peer = new Map<string, number | string>();
  if (typeof setup !== 'string') {
    for (const mode of ['adapter', 'full'] as const) for (const t of peerThreads) peer.set(`${mode}@${t}`, peerStep(setup, mode, t));
  }
  console.log(`backend: ${adapter.backend}${adapter1 ? `; 1-thread rows: ${adapter1.backend}` : ''}`);
  console.log(
    `model: BERT ${CONFIG.num_hidden_layers} layers, hidden ${CONFIG.hidden_size}, ${CONFIG.num_attention_heads} heads, FFN ${CONFIG.intermediate_size}, vocab ${CONFIG.vocab_size}; ` +
      `batch ${BATCH} × ${SEQ} tokens; ${steps} timed steps after ${warmup} warm-up; each mode in its own process`,
  );
  const tokens = BATCH * SEQ;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const gf = (f: number): string => `${(f / 1e9).toFixed(1)} GFLOP`;
  const rate = (flops: number, ms: number): number => flops / 1e6 / Math.max(ms, 1e-9); // GFLOP/s
  const p = (r: PhaseResult): MatMulProfile => r.profile!;
  /** The label every figure carries: backend and threads of the process that measured it. */
  const at = (r: PhaseResult): string => `[${r.backend.split(' ')[0]}${r.threads !== undefined ? `, ${r.threads} thr` : ''}]`;
  const mmRate = (r: PhaseResult): string => `${r.matMulMs.toFixed(1)} ms  (${((2 * MATMUL_N ** 3) / 1e6 / r.matMulMs).toFixed(1)} GFLOP/s)`;
  const rate2d = rate(p(adapter).flops2d + p(full).flops2d, p(adapter).ms2d + p(full).ms2d);
  const floor = (r: PhaseResult): number => (p(r).flops2d + p(r).flopsBatched) / 1e6 / rate2d; // ms
  const matmulShare = (r: PhaseResult): string => `${((100 * (p(r).ms2d + p(r).msBatched)) / p(r).msAll).toFixed(0)} %`;
  const rows: Array<[string, string]> = [
    ['trainable params (adapter / full)', `${adapter.params.toLocaleString('en-US')} (+ head) / ${full.params.toLocaleString('en-US')} (+ head)`],
    [`adapter training step ${at(adapter)}`, `${adapter.stepMs!.toFixed(0)} ms  (${((1000 * tokens) / adapter.stepMs!).toFixed(0)} tokens/s)`],
    [`full fine-tuning step ${at(full)}`, `${full.stepMs!.toFixed(0)} ms  (${((1000 * tokens) / full.stepMs!).toFixed(0)} tokens/s)`],
    [`adapter / full step time ${at(adapter)}`, `${(adapter.stepMs! / full.stepMs!).toFixed(2)}  (full / adapter ${(full.stepMs! / adapter.stepMs!).toFixed(2)}×)`],
    [`matMul ${MATMUL_N}³ ${at(adapter)}`, mmRate(adapter)],
  ];
  if (adapter1 && full1) {
    rows.push(
      [`adapter training step ${at(adapter1)}`, `${adapter1.stepMs!.toFixed(0)} ms  (${((1000 * tokens) / adapter1.stepMs!).toFixed(0)} tokens/s)`],
      [`full fine-tuning step ${at(full1)}`, `${full1.stepMs!.toFixed(0)} ms  (${((1000 * tokens) / full1.stepMs!).toFixed(0)} tokens/s)`],
      [`matMul ${MATMUL_N}³ ${at(adapter1)}`, mmRate(adapter1)],
      [`thread scaling, 1 → ${adapter.threads} thr (adapter / full / matMul)`, `${(adapter1.stepMs! / adapter.stepMs!).toFixed(2)}× / ${(full1.stepMs! / full.stepMs!).toFixed(2)}× / ${(adapter1.matMulMs / adapter.matMulMs).toFixed(2)}×`],
    );
  }
  if (adapterDp !== undefined) {
    const label = `adapter training step [${backendName}, ${threads} workers × 1 thr, data-parallel]`;
    if (typeof adapterDp === 'string') rows.push([label, adapterDp]);
    else {
      rows.push([label, `${adapterDp.stepMs.toFixed(0)} ms  (${((1000 * tokens) / adapterDp.stepMs).toFixed(0)} tokens/s; --workers auto's mode)`]);
      if (adapter1) rows.push([`scaling, adapter step 1 thr → ${threads} data-parallel workers`, `${(adapter1.stepMs! / adapterDp.stepMs).toFixed(2)}×`]);
    }
  }
  if (typeof setup === 'string') rows.push(['reference (peer)', `skipped: ${setup}`]);
  else {
    const ours = (mode: 'adapter' | 'full', t: number): PhaseResult | undefined =>
      t === threads ? (mode === 'adapter' ? adapter : full) : mode === 'adapter' ? adapter1 : full1;
    for (const mode of ['adapter', 'full'] as const) {
      for (const t of peerThreads) {
        const ref = peer.get(`${mode}@${t}`)!;
        const mine = ours(mode, t);
        if (typeof ref === 'string') rows.push([`reference ${mode} step [torch, ${t} thr]`, ref]);
        else {
          rows.push([`reference ${mode} step [torch, ${t} thr]`, `${ref.toFixed(0)} ms`]);
          if (mine) rows.push([`AdapterKit / reference step time, ${mode} ${at(mine)} / [torch, ${t} thr]`, `${(mine.stepMs! / ref).toFixed(2)}×  (${mine.stepMs!.toFixed(0)} / ${ref.toFixed(0)} ms)`]);
        }
      }
      const r1 = peer.get(`${mode}@1`);
      const rn = peer.get(`${mode}@${threads}`);
      if (threads > 1 && typeof r1 === 'number' && typeof rn === 'number') rows.push([`reference thread scaling, ${mode} 1 → ${threads} thr`, `${(r1 / rn).toFixed(2)}×`]);
    }
  }
  rows.push(
    [`base forward ${at(adapter)}`, `${adapter.baseForwardMs!.toFixed(0)} ms  (${((1000 * tokens) / adapter.baseForwardMs!).toFixed(0)} tokens/s)`],
    [`adapter forward ${at(adapter)}`, `${adapter.adapterForwardMs!.toFixed(0)} ms`],
    ...nativeForwards.map((f): [string, string] => [
      `wasm / native base forward, alternating ${at(f)}`,
      `${(f.wasmBaseForwardMs! / f.baseForwardMs!).toFixed(2)}×  (plain wasm ${f.wasmBaseForwardMs!.toFixed(0)} ms / native ${f.baseForwardMs!.toFixed(0)} ms)`,
    ]),
    [
      `adapter / base forward (overhead, median of ${FORWARD_RUNS} pairs)`,
      `${adapter.forwardRatio![1].toFixed(3)}×  (${signed(100 * (adapter.forwardRatio![1] - 1))}%; quartiles ${signed(100 * (adapter.forwardRatio![0] - 1))}% / ${signed(100 * (adapter.forwardRatio![2] - 1))}%; ratio of medians ${(adapter.adapterForwardMs! / adapter.baseForwardMs!).toFixed(3)}×)`,
    ],
    [`peak RSS (adapter / full) ${at(adapter)}`, `${mb(adapter.peakRss)} / ${mb(full.peakRss)}  (${(adapter.peakRss / full.peakRss).toFixed(2)}×)`],
    ['matMul work per step (adapter / full)', `${gf(p(adapter).flops2d + p(adapter).flopsBatched)} / ${gf(p(full).flops2d + p(full).flopsBatched)}  (${((p(adapter).flops2d + p(adapter).flopsBatched) / (p(full).flops2d + p(full).flopsBatched)).toFixed(2)})`],
    ['  of which attention (batched)', `${gf(p(adapter).flopsBatched)} / ${gf(p(full).flopsBatched)}`],
    [`matMul throughput (2-D / batched) ${at(adapter)}`, `${rate2d.toFixed(1)} / ${rate(p(adapter).flopsBatched + p(full).flopsBatched, p(adapter).msBatched + p(full).msBatched).toFixed(1)} GFLOP/s  (profiled steps)`],
    ['share of kernel time in matMul (adapter / full)', `${matmulShare(adapter)} / ${matmulShare(full)}`],
    ['matMul floor at 2-D throughput (adapter / full)', `${floor(adapter).toFixed(0)} ms / ${floor(full).toFixed(0)} ms`],
    ['wall time', `${((performance.now() - t0) / 1000).toFixed(1)} s`],
  );
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}
