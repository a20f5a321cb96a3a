/**
 * `pnpm bench [--steps N] [--quick] [--backend wasm|cpu]`: training and inference cost of a Pfeiffer adapter on a
 * BERT-like model (4 layers, hidden 256, 4 heads, FFN 1024, vocab 8000; batch 16 × 128 tokens), measured in one
 * run on the wasm backend:
 *
 * - adapter training step (adapter + classification head trained, base frozen) vs full fine-tuning step, their ratio
 *   and tokens/s — both through `train()` of `@adapterkit/training`, step time = its `stepMs` (collate, forward,
 *   backward, clipping, AdamW, loss read-back);
 * - forward time of the base model vs the model with the adapter active, and the overhead ratio;
 * - peak RSS (sampled after every step and forward; the wasm heap never shrinks, so this is the high-water mark).
 *
 * Medians over the timed steps after warm-up. Finishes in well under 3 minutes (`--quick`: about 1 minute).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, initBackend, type ModelInputs } from '@adapterkit/core';
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
const warmup = 1;
const backendName = (arg('backend') ?? 'wasm') as 'wasm' | 'cpu';
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

/** Median forward time (ms) of the active setup on one batch (output read back). */
function forwardTime(model: AdapterModel, inputs: ModelInputs): number {
  const times: number[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const t0 = performance.now();
    const out = model.forward(inputs);
    out.lastHiddenState.dataSync();
    const dt = performance.now() - t0;
    tf.dispose(out.poolerOutput ? [out.lastHiddenState, out.poolerOutput] : [out.lastHiddenState]);
    sampleRss();
    if (i >= warmup) times.push(dt);
  }
  return median(times);
}

const t0 = performance.now();
const backend = await initBackend(backendName);
console.log(`backend: ${backend.name} (${backend.package}${backend.threads !== undefined ? `, ${backend.threads} thread(s)` : ''})`);
console.log(
  `model: BERT ${CONFIG.num_hidden_layers} layers, hidden ${CONFIG.hidden_size}, ${CONFIG.num_attention_heads} heads, FFN ${CONFIG.intermediate_size}, vocab ${CONFIG.vocab_size}; batch ${BATCH} × ${SEQ} tokens; ${steps} timed steps after ${warmup} warm-up`,
);

// Adapter model: forward base vs adapter, then adapter training steps.
const model = newModel();
model.addAdapter('task', 'pfeiffer', { seed: 3 });
const ids = makeData(BATCH, 9).map((e) => e.inputIds as number[]);
const inputs: ModelInputs = { inputIds: tf.tensor2d(ids, [BATCH, SEQ], 'int32') };
model.setActiveAdapters(null);
const baseFwd = forwardTime(model, inputs);
model.setActiveAdapters('task');
const adapterFwd = forwardTime(model, inputs);
const adapterParams = model.adapterSummary()[0]!.numParams;
const adapterStep = await stepTime(model, 'adapter');
const rssAdapter = peakRss;
disposeHeads(model);
model.dispose();

// Full fine-tuning baseline: no adapter, every base parameter trained.
const fullModel = newModel();
const fullStep = await stepTime(fullModel, 'full');
const baseParams = fullModel.info.numParameters;
disposeHeads(fullModel);
fullModel.dispose();
tf.dispose([inputs.inputIds]);

const tokens = BATCH * SEQ;
const rows: Array<[string, string]> = [
  ['trainable params (adapter / full)', `${adapterParams.toLocaleString('en-US')} (+ head) / ${baseParams.toLocaleString('en-US')} (+ head)`],
  ['adapter training step', `${adapterStep.toFixed(0)} ms  (${((1000 * tokens) / adapterStep).toFixed(0)} tokens/s)`],
  ['full fine-tuning step', `${fullStep.toFixed(0)} ms  (${((1000 * tokens) / fullStep).toFixed(0)} tokens/s)`],
  ['full / adapter step time', `${(fullStep / adapterStep).toFixed(2)}×`],
  ['base forward', `${baseFwd.toFixed(0)} ms  (${((1000 * tokens) / baseFwd).toFixed(0)} tokens/s)`],
  ['adapter forward', `${adapterFwd.toFixed(0)} ms`],
  ['adapter / base forward (overhead)', `${(adapterFwd / baseFwd).toFixed(3)}×  (+${((100 * (adapterFwd - baseFwd)) / baseFwd).toFixed(1)}%)`],
  ['peak RSS (adapter phase / overall)', `${mb(rssAdapter)} / ${mb(peakRss)}`],
  ['wall time', `${((performance.now() - t0) / 1000).toFixed(1)} s`],
];
const w = Math.max(...rows.map(([k]) => k.length));
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
