/**
 * `@adapterkit/generate`: text generation on decoder hosts (GPT-2, Llama, Qwen2) with whatever adapters are active:
 * a key/value cache, greedy and sampled decoding (temperature, top-k, top-p, repetition penalty), stop tokens and
 * strings, batched left-padded prompts, streaming through a callback or an async iterator.
 *
 * ```ts
 * const model = new AdapterModel(await loadHost('models/smollm2'), { methods: [lora] });
 * const { tokens } = generate(model, [promptIds], { maxNewTokens: 32, stopTokens: [eosId] });
 * ```
 *
 * Shapes: prompts are token-id arrays; the model is run with int32 `[batch, seq]` inputs and its LM logits
 * `[batch, seq, vocab]`; the cache holds `[batch, kvHeads, length, headDim]` per layer.
 *
 * @packageDocumentation
 */
export { KVCache } from './cache';
export { checkSampling, pickToken, type SamplingOptions } from './sampling';
export { generate, generateSteps, generateStream, type FinishReason, type GenerateOptions, type GenerationResult, type GenerationStep } from './generate';
export { applyChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat';
