import type { ServerResponse } from 'node:http';
import { AdapterKitError, adapterNames, type AdapterModel, type SetupNode } from '@adapterkit/core';
import type { Tokenizer } from '@adapterkit/data';
import { checkSampling, generateStream, type GenerateOptions } from '@adapterkit/generate';
import { ServeError } from './errors';
import type { Mutex } from './lock';
import type { AdapterPool } from './pool';

/** Most tokens one `/v1/generate` request may ask for. */
export const MAX_NEW_TOKENS = 512;

/** What {@link handleGenerate} needs from the server. */
export interface GenerateContext {
  readonly model: AdapterModel;
  readonly pool: AdapterPool;
  readonly lock: Mutex;
  readonly body: Readonly<Record<string, unknown>>;
  readonly setup: SetupNode | null;
  readonly res: ServerResponse;
  readonly maxLen: number;
  readonly vocab: number;
  readonly tokenizer: () => Promise<Tokenizer>;
  readonly timeoutMs: number;
}

function optNumber(body: Readonly<Record<string, unknown>>, key: string, integer: boolean): number | undefined {
  const v = body[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new ServeError(400, 'BAD_FIELD', `'${key}' must be ${integer ? 'an integer' : 'a number'}`, key);
  }
  return v;
}

/**
 * `POST /v1/generate {adapter, prompt | prompt_ids, max_new_tokens, temperature?, top_k?, top_p?, do_sample?,
 * seed?, stream?}` on a decoder host (`@adapterkit/generate`). Generation holds the model for its whole run (it is
 * not batched with other requests). With `stream` (default true) the answer is server-sent events: one
 * `data: {"token", "text"?}` per new token, then `data: {"done": true, "finish_reason", "tokens", "text"?}`;
 * otherwise one JSON object.
 */
export async function handleGenerate(c: GenerateContext): Promise<void> {
  const { body, model } = c;
  if (model.info.isDecoder !== true) {
    throw new ServeError(400, 'NOT_A_DECODER', `generation needs a decoder host (gpt2, llama, qwen2); this model is ${model.info.modelType}`, 'adapter');
  }
  let tok: Tokenizer | undefined;
  let prompt: number[];
  if (typeof body['prompt'] === 'string') {
    tok = await c.tokenizer();
    prompt = tok.encode(body['prompt'], null, { addSpecialTokens: false }).ids;
    if (prompt.length === 0) throw new ServeError(400, 'BAD_FIELD', "'prompt' encodes to no tokens", 'prompt');
  } else if (Array.isArray(body['prompt_ids'])) {
    prompt = body['prompt_ids'] as number[];
    prompt.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= c.vocab) throw new ServeError(400, 'BAD_FIELD', `'prompt_ids[${j}]' must be a token id in [0, ${c.vocab - 1}]`, `prompt_ids[${j}]`);
    });
    if (prompt.length === 0) throw new ServeError(400, 'BAD_FIELD', "'prompt_ids' is empty", 'prompt_ids');
  } else {
    throw new ServeError(400, 'MISSING_FIELD', "'prompt' (text) or 'prompt_ids' (token ids) is required", 'prompt');
  }
  const maxNew = optNumber(body, 'max_new_tokens', true) ?? 20;
  if (maxNew < 1 || maxNew > MAX_NEW_TOKENS) throw new ServeError(400, 'BAD_FIELD', `'max_new_tokens' must be in [1, ${MAX_NEW_TOKENS}]`, 'max_new_tokens');
  if (prompt.length + maxNew > c.maxLen) {
    throw new ServeError(400, 'INPUT_TOO_LONG', `prompt (${prompt.length} tokens) + max_new_tokens (${maxNew}) exceeds the model's ${c.maxLen} positions`, 'prompt');
  }
  const temperature = optNumber(body, 'temperature', false);
  const topK = optNumber(body, 'top_k', true);
  const topP = optNumber(body, 'top_p', false);
  const seed = optNumber(body, 'seed', true);
  if (body['do_sample'] !== undefined && typeof body['do_sample'] !== 'boolean') throw new ServeError(400, 'BAD_FIELD', "'do_sample' must be a boolean", 'do_sample');
  if (body['stream'] !== undefined && typeof body['stream'] !== 'boolean') throw new ServeError(400, 'BAD_FIELD', "'stream' must be a boolean", 'stream');
  const stream = body['stream'] !== false;
  const eos = tok?.eosTokenId;
  const options: GenerateOptions = {
    maxNewTokens: maxNew,
    ...(body['do_sample'] !== undefined ? { doSample: body['do_sample'] as boolean } : {}),
    ...(temperature !== undefined ? { temperature } : {}),
    ...(topK !== undefined ? { topK } : {}),
    ...(topP !== undefined ? { topP } : {}),
    ...(seed !== undefined ? { seed } : {}),
    ...(eos !== undefined ? { stopTokens: [eos] } : {}),
    ...(tok ? { decode: (ids: readonly number[]) => tok.decode(ids) } : {}),
  };
  try {
    checkSampling(options);
  } catch (err) {
    if (err instanceof AdapterKitError) throw new ServeError(400, 'BAD_FIELD', err.message);
    throw err;
  }
  const names = c.setup ? adapterNames(c.setup) : [];
  let closed = false;
  c.res.on('close', () => {
    closed = true;
  });
  const deadline = performance.now() + c.timeoutMs;
  await c.lock.run(async () => {
    for (const n of names) await c.pool.ensure(n);
    c.pool.pin(names);
    try {
      c.model.setActiveAdapters(c.setup);
      const it = generateStream(c.model, [prompt], options);
      if (stream) c.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
      const tokens: number[] = [];
      for (;;) {
        const r = await it.next();
        if (r.done) {
          const done = { done: true, finish_reason: r.value.finishReasons[0], tokens: r.value.tokens[0], ...(r.value.text ? { text: r.value.text[0] } : {}) };
          if (stream) c.res.end(`data: ${JSON.stringify(done)}\n\n`);
          else {
            const text = JSON.stringify(done);
            c.res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
            c.res.end(text);
          }
          return;
        }
        const t = r.value.tokens[0];
        if (t !== undefined) tokens.push(t);
        if (stream && t !== undefined && !closed) c.res.write(`data: ${JSON.stringify({ token: t, ...(tok ? { text: tok.decode([t]) } : {}) })}\n\n`);
        if (closed) {
          await it.return(undefined as never);
          return;
        }
        if (performance.now() > deadline) {
          await it.return(undefined as never);
          const err = new ServeError(504, 'TIMEOUT', `generation not finished within ${c.timeoutMs} ms (${tokens.length} tokens)`);
          if (stream) c.res.end(`data: ${JSON.stringify(err.toJSON())}\n\n`);
          else throw err;
          return;
        }
      }
    } finally {
      c.pool.unpin(names);
    }
  });
}
