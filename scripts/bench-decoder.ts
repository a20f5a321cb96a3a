/**
 * `pnpm bench:decoder [--backend wasm|cpu] [--seq N] [--tokens N] [--steps N]`: the decoder section of the
 * benchmarks, on a Llama host in SmolLM2-135M's shape (30 layers, hidden 576, 9 heads, 3 KV heads, FFN 1536, vocab
 * 49152; random weights, as no checkpoint can be downloaded here), measured in one run:
 *
 * - one LoRA training step (`lora[r=8,alpha=16]` on q, v; batch 1 × `--seq` tokens, causal-LM loss, forward +
 *   backward + SGD update), median over `--steps` after one warm-up step;
 * - generation tokens/s (greedy, an 8-token prompt, `--tokens` new tokens): LoRA unmerged with the key/value cache,
 *   LoRA merged into the base weights with the cache, and unmerged without the cache (the full sequence recomputed
 *   each step), with their ratios.
 *
 * Speed claims come from ratios of this one run. Defaults: wasm, seq 64, 32 tokens, 3 steps (about 2–4 minutes on
 * two cores).
 */
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '@adapterkit/core';
import { initBackend } from '@adapterkit/backends';
import { generate } from '@adapterkit/generate';
import { lora, mergeAdapter, resetAdapter } from '@adapterkit/lora';
import { initHost } from '@adapterkit/models';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}
function positive(name: string, dflt: number): number {
  const v = Number(arg(name) ?? dflt);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} must be a positive integer, got ${arg(name)}`);
  return v;
}

const backendName = (arg('backend') ?? 'wasm') as 'wasm' | 'cpu';
const SEQ = positive('seq', 64);
const TOKENS = positive('tokens', 32);
const STEPS = positive('steps', 3);
const SMOLLM2_135M = {
  model_type: 'llama',
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  intermediate_size: 1536,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const backend = await initBackend(backendName, { threads: 1 });
console.log(`backend: ${backend.name}; SmolLM2-135M shape, random weights`);
const t0 = performance.now();
const model = new AdapterModel(initHost(SMOLLM2_135M, 1), { methods: [lora] });
console.log(`host: ${model.info.numParameters.toLocaleString('en-US')} parameters, built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
model.addAdapter('lora', 'lora[r=8,alpha=16]');
model.trainAdapter('lora');

// --- LoRA training step
const ids = Array.from({ length: SEQ }, (_, i) => (i * 7919 + 11) % 49152);
const vars = model.trainableVariables();
const step = (): number => {
  const start = performance.now();
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.forward({ inputIds: tf.tensor2d([ids], [1, SEQ], 'int32') }, { lmLogits: true, training: true }).logits!;
      const V = logits.shape[2];
      const pred = tf.reshape(tf.slice(logits, [0, 0, 0], [1, SEQ - 1, V]), [SEQ - 1, V]);
      const target = tf.oneHot(tf.tensor1d(ids.slice(1), 'int32'), V);
      return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(pred)), 1))) as tf.Scalar;
    }, vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name]!, 1e-3)));
    value.dataSync();
  });
  return performance.now() - start;
};
step();
const stepMs = median(Array.from({ length: STEPS }, step));
console.log(`LoRA training step (batch 1 × ${SEQ} tokens): ${stepMs.toFixed(0)} ms (${((SEQ / stepMs) * 1000).toFixed(1)} tokens/s), memory ${(tf.memory().numBytes / 2 ** 20).toFixed(0)} MiB`);

// --- generation
model.setActiveAdapters('lora');
const prompt = ids.slice(0, 8);
const tokensPerSecond = (opts: { useCache: boolean }): { tps: number; tokens: number[] } => {
  generate(model, [prompt], { maxNewTokens: 2, ...opts }); // warm-up (kernel set-up)
  const start = performance.now();
  const r = generate(model, [prompt], { maxNewTokens: TOKENS, ...opts });
  return { tps: (r.tokens[0]!.length / (performance.now() - start)) * 1000, tokens: r.tokens[0]! };
};
const unmerged = tokensPerSecond({ useCache: true });
mergeAdapter(model, 'lora');
const merged = tokensPerSecond({ useCache: true });
resetAdapter(model);
const noCache = tokensPerSecond({ useCache: false });
const same = (a: number[], b: number[]): string => (a.join() === b.join() ? 'same tokens' : 'DIFFERENT tokens');

console.log('');
console.log(`| generation (${TOKENS} new tokens, 8-token prompt, greedy) | tokens/s | vs unmerged + cache |`);
console.log('| --- | ---: | ---: |');
console.log(`| LoRA unmerged, KV cache | ${unmerged.tps.toFixed(1)} | 1.00 |`);
console.log(`| LoRA merged, KV cache | ${merged.tps.toFixed(1)} | ${(merged.tps / unmerged.tps).toFixed(2)} (${same(merged.tokens, unmerged.tokens)}) |`);
console.log(`| LoRA unmerged, no cache | ${noCache.tps.toFixed(1)} | ${(noCache.tps / unmerged.tps).toFixed(2)} (${same(noCache.tokens, unmerged.tokens)}) |`);
model.dispose();
