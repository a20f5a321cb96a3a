/**
 * `pnpm bench [--steps N] [--quick] [--backend wasm|native|cpu] [--threads N] [--compare BACKEND]`: training and inference cost of a Pfeiffer adapter on a
 * BERT-like model (4 layers, hidden 256, 4 heads, FFN 1024, vocab 8000; batch 16 × 128 tokens), measured in one
 * run on the wasm backend:
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
 * `--compare native` (or any backend) runs the same phases on that backend too, alternating with the first one's
 * processes, and prints its step and forward times with their ratios to the first backend (same run).
 * `--threads N` is passed to `initBackend` (the native kernels' OpenBLAS threads; wasm in Node has 1).
 *
 * Medians over the timed steps after warm-up. Finishes in about 3 minutes (`--quick`: about 1.5 minutes).
 */
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, describeBackend } from '@adapterkit/backends';
import { AdapterModel, type ModelInputs } from '@adapterkit/core';
import { initHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { addClassificationHead, disposeHeads, train, type Example } from '@adapterkit/training';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

const quick = process.argv.includes('--quick');
const steps = Number(arg('steps') ?? (quick ? 2 : 5));
/** Untimed steps first: a fresh process grows the wasm heap during its first steps. */
const warmup = 2;
type Backend = 'wasm' | 'native' | 'cpu';
const backendName = (arg('backend') ?? 'wasm') as Backend;
const compareWith = arg('compare') as Backend | undefined;
const threads = arg('threads') !== undefined ? Number(arg('threads')) : undefined;
const phase = arg('phase') as 'adapter' | 'full' | undefined;
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
/** This process's CPU time (user + system, all its threads) in ms: unlike wall time, not inflated when other processes take the cores. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

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

/** Median step time (ms) of a `train()` run of warm-up + `steps` steps, and the median CPU time of those steps. */
async function stepTime(model: AdapterModel, mode: 'adapter' | 'full'): Promise<{ stepMs: number; stepCpuMs: number }> {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let cpu0 = cpuMs();
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
      if (e.type !== 'step') return;
      const cpu = cpuMs();
      if (e.step > warmup) {
        times.push(e.stepMs);
        cpuTimes.push(cpu - cpu0);
      }
      cpu0 = cpu;
    },
  });
  return { stepMs: median(times), stepCpuMs: median(cpuTimes) };
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

/** Forwards timed per setup; base and adapter forwards alternate, so drift in the machine's speed hits both alike. */
const FORWARD_RUNS = 7;

/** Median forward time (ms) of the base model and of the model with adapter `name` active, measured interleaved. */
function forwardTimes(model: AdapterModel, inputs: ModelInputs, name: string): { baseForwardMs: number; adapterForwardMs: number; baseForwardCpuMs: number } {
  const times: Record<'base' | 'adapter', number[]> = { base: [], adapter: [] };
  const baseCpu: number[] = [];
  for (let i = 0; i < warmup + FORWARD_RUNS; i++) {
    for (const which of ['base', 'adapter'] as const) {
      model.setActiveAdapters(which === 'base' ? null : name);
      const t0 = performance.now();
      const c0 = cpuMs();
      const out = model.forward(inputs);
      out.lastHiddenState.dataSync();
      const dt = performance.now() - t0;
      if (i >= warmup && which === 'base') baseCpu.push(cpuMs() - c0);
      tf.dispose(out.poolerOutput ? [out.lastHiddenState, out.poolerOutput] : [out.lastHiddenState]);
      sampleRss();
      if (i >= warmup) times[which].push(dt);
    }
  }
  return { baseForwardMs: median(times.base), adapterForwardMs: median(times.adapter), baseForwardCpuMs: median(baseCpu) };
}

/** What a phase process reports. */
interface PhaseResult {
  readonly backend: string;
  readonly params: number;
  readonly stepMs: number;
  /** Median CPU time of the timed steps (robust to other processes on the machine; ≈ wall time at 1 thread when idle). */
  readonly stepCpuMs: number;
  readonly peakRss: number;
  readonly profile: MatMulProfile;
  readonly baseForwardMs?: number;
  readonly adapterForwardMs?: number;
  readonly baseForwardCpuMs?: number;
}

/** One phase, in this process: adapter training (with the forward comparison) or full fine-tuning. */
async function runPhase(which: 'adapter' | 'full'): Promise<PhaseResult> {
  const backend = await initBackend(backendName, threads !== undefined ? { threads } : {});
  const model = newModel();
  let forward: Pick<PhaseResult, 'baseForwardMs' | 'adapterForwardMs' | 'baseForwardCpuMs'> = {};
  let params = model.info.numParameters;
  if (which === 'adapter') {
    model.addAdapter('task', 'pfeiffer', { seed: 3 });
    const ids = makeData(BATCH, 9).map((e) => e.inputIds as number[]);
    const inputs: ModelInputs = { inputIds: tf.tensor2d(ids, [BATCH, SEQ], 'int32') };
    forward = forwardTimes(model, inputs, 'task');
    tf.dispose([inputs.inputIds]);
    params = model.adapterSummary()[0]!.numParams;
  }
  const { stepMs, stepCpuMs } = await stepTime(model, which);
  const profile = await profileStep(model, which);
  disposeHeads(model);
  model.dispose();
  return { backend: `${backend.name} (${backend.package}${backend.threads !== undefined ? `, ${backend.threads} thread(s)` : ''})`, params, stepMs, stepCpuMs, peakRss, profile, ...forward };
}

const RESULT_TAG = 'BENCH_PHASE_RESULT ';

if (phase) {
  console.log(`${RESULT_TAG}${JSON.stringify(await runPhase(phase))}`);
} else {
  const t0 = performance.now();
  /** Run a phase in a fresh process (same Node flags and loader), so that its peak RSS is its own. */
  const run = (which: 'adapter' | 'full', backend: Backend = backendName): PhaseResult => {
    const args = [...process.execArgv, process.argv[1]!, '--phase', which, '--steps', String(steps), '--backend', backend, ...(threads !== undefined ? ['--threads', String(threads)] : [])];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_TAG));
    if (r.status !== 0 || !line) throw new Error(`bench phase '${which}' failed (exit ${r.status ?? r.signal}):\n${r.stdout}`);
    return JSON.parse(line.slice(RESULT_TAG.length)) as PhaseResult;
  };
  const adapter = run('adapter');
  const otherAdapter = compareWith ? run('adapter', compareWith) : undefined;
  const full = run('full');
  const otherFull = compareWith ? run('full', compareWith) : undefined;
  console.log(`backend: ${adapter.backend}`);
  console.log(
    `model: BERT ${CONFIG.num_hidden_layers} layers, hidden ${CONFIG.hidden_size}, ${CONFIG.num_attention_heads} heads, FFN ${CONFIG.intermediate_size}, vocab ${CONFIG.vocab_size}; ` +
      `batch ${BATCH} × ${SEQ} tokens; ${steps} timed steps after ${warmup} warm-up; each mode in its own process`,
  );
  const tokens = BATCH * SEQ;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  const gf = (f: number): string => `${(f / 1e9).toFixed(1)} GFLOP`;
  const rate = (flops: number, ms: number): number => flops / 1e6 / Math.max(ms, 1e-9); // GFLOP/s
  const p = (r: PhaseResult): MatMulProfile => r.profile;
  const rate2d = rate(p(adapter).flops2d + p(full).flops2d, p(adapter).ms2d + p(full).ms2d);
  const floor = (r: PhaseResult): number => (p(r).flops2d + p(r).flopsBatched) / 1e6 / rate2d; // ms
  const matmulShare = (r: PhaseResult): string => `${((100 * (p(r).ms2d + p(r).msBatched)) / p(r).msAll).toFixed(0)} %`;
  const rows: Array<[string, string]> = [
    ['trainable params (adapter / full)', `${adapter.params.toLocaleString('en-US')} (+ head) / ${full.params.toLocaleString('en-US')} (+ head)`],
    ['adapter training step', `${adapter.stepMs.toFixed(0)} ms  (${((1000 * tokens) / adapter.stepMs).toFixed(0)} tokens/s)`],
    ['full fine-tuning step', `${full.stepMs.toFixed(0)} ms  (${((1000 * tokens) / full.stepMs).toFixed(0)} tokens/s)`],
    ['adapter / full step time', `${(adapter.stepMs / full.stepMs).toFixed(2)}  (full / adapter ${(full.stepMs / adapter.stepMs).toFixed(2)}×)`],
    ['base forward', `${adapter.baseForwardMs!.toFixed(0)} ms  (${((1000 * tokens) / adapter.baseForwardMs!).toFixed(0)} tokens/s)`],
    ['adapter forward', `${adapter.adapterForwardMs!.toFixed(0)} ms`],
    ['adapter / base forward (overhead)', `${(adapter.adapterForwardMs! / adapter.baseForwardMs!).toFixed(3)}×  (${signed((100 * (adapter.adapterForwardMs! - adapter.baseForwardMs!)) / adapter.baseForwardMs!)}%)`],
    ['peak RSS (adapter / full)', `${mb(adapter.peakRss)} / ${mb(full.peakRss)}  (${(adapter.peakRss / full.peakRss).toFixed(2)}×)`],
    ['matMul work per step (adapter / full)', `${gf(p(adapter).flops2d + p(adapter).flopsBatched)} / ${gf(p(full).flops2d + p(full).flopsBatched)}  (${((p(adapter).flops2d + p(adapter).flopsBatched) / (p(full).flops2d + p(full).flopsBatched)).toFixed(2)})`],
    ['  of which attention (batched)', `${gf(p(adapter).flopsBatched)} / ${gf(p(full).flopsBatched)}`],
    ['matMul throughput (2-D / batched)', `${rate2d.toFixed(1)} / ${rate(p(adapter).flopsBatched + p(full).flopsBatched, p(adapter).msBatched + p(full).msBatched).toFixed(1)} GFLOP/s  (profiled steps)`],
    ['share of kernel time in matMul (adapter / full)', `${matmulShare(adapter)} / ${matmulShare(full)}`],
    ['matMul floor at 2-D throughput (adapter / full)', `${floor(adapter).toFixed(0)} ms / ${floor(full).toFixed(0)} ms`],
  ];
  if (otherAdapter && otherFull) {
    const vs = (mine: number, theirs: number): string => `${theirs.toFixed(0)} ms  (${(mine / theirs).toFixed(2)}× faster than ${backendName}, ${(theirs / mine).toFixed(2)}× its time)`;
    rows.push(
      [`${compareWith} backend`, otherAdapter.backend],
      [`${compareWith}: adapter training step`, vs(adapter.stepMs, otherAdapter.stepMs)],
      [`${compareWith}: full fine-tuning step`, vs(full.stepMs, otherFull.stepMs)],
      [`${compareWith}: base forward`, vs(adapter.baseForwardMs!, otherAdapter.baseForwardMs!)],
      [`CPU time: adapter step (${backendName} / ${compareWith})`, `${adapter.stepCpuMs.toFixed(0)} / ${otherAdapter.stepCpuMs.toFixed(0)} ms  (${(adapter.stepCpuMs / otherAdapter.stepCpuMs).toFixed(2)}×)`],
      [`CPU time: full step (${backendName} / ${compareWith})`, `${full.stepCpuMs.toFixed(0)} / ${otherFull.stepCpuMs.toFixed(0)} ms  (${(full.stepCpuMs / otherFull.stepCpuMs).toFixed(2)}×)`],
      [`CPU time: base forward (${backendName} / ${compareWith})`, `${adapter.baseForwardCpuMs!.toFixed(0)} / ${otherAdapter.baseForwardCpuMs!.toFixed(0)} ms  (${(adapter.baseForwardCpuMs! / otherAdapter.baseForwardCpuMs!).toFixed(2)}×)`],
      [`${compareWith}: adapter forward`, vs(adapter.adapterForwardMs!, otherAdapter.adapterForwardMs!)],
      [`${compareWith}: share of kernel time in matMul (adapter / full)`, `${matmulShare(otherAdapter)} / ${matmulShare(otherFull)}`],
      [`${compareWith}: matMul throughput (2-D / batched)`, `${rate(p(otherAdapter).flops2d + p(otherFull).flops2d, p(otherAdapter).ms2d + p(otherFull).ms2d).toFixed(1)} / ${rate(p(otherAdapter).flopsBatched + p(otherFull).flopsBatched, p(otherAdapter).msBatched + p(otherFull).msBatched).toFixed(1)} GFLOP/s  (profiled steps)`],
      [`${compareWith}: peak RSS (adapter / full)`, `${mb(otherAdapter.peakRss)} / ${mb(otherFull.peakRss)}`],
    );
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  rows.push(['wall time', `${((performance.now() - t0) / 1000).toFixed(1)} s`]);
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
}
