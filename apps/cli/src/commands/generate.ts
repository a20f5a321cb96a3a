import { applyChatTemplate, generateSteps, type GenerateOptions, type GenerationResult } from '@adapterkit/generate';
import type { CommandSpec } from '../cli/command';
import { CliError, UsageError } from '../cli/errors';
import { activate, adapterDir, loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';
import { resolveTokenizer } from '../runtime/tokenizer';

function parseIds(text: string): number[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`--prompt-ids expects a JSON array of token ids, got '${text}'`);
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((t) => Number.isInteger(t))) throw new UsageError(`--prompt-ids expects a non-empty JSON array of integers, got '${text}'`);
  return v as number[];
}

/** `adapterkit generate`: continue prompts with a decoder model (GPT-2, Llama, Qwen2) and its adapters. */
export const generateCommand: CommandSpec = {
  name: 'generate',
  summary: 'continue text with a decoder model (gpt2, llama, qwen2) and adapters; streams tokens',
  usage: ['--model DIR (--prompt TEXT | --prompt-ids JSON) ... [--adapter DIR ...] [--max-new-tokens N] [sampling options]'],
  details: [
    'Greedy decoding by default; --sample (or any of --temperature, --top-k, --top-p) samples with a seeded',
    'generator. Prompts of different lengths are left-padded and run as one batch. With one prompt the text is',
    'streamed as it is generated; with several, each continuation is printed when all are done. Generation stops',
    "at --max-new-tokens, at the tokenizer's end-of-sequence token (and any --stop-token), or at a --stop string.",
    'The key/value cache is on unless --no-cache.',
  ],
  options: {
    ...MODEL_OPTIONS,
    prompt: { type: 'string', multiple: true, value: 'TEXT', description: 'a prompt (repeat for a batch)' },
    'prompt-ids': { type: 'string', multiple: true, value: 'JSON', description: 'a prompt as token ids, e.g. [1, 2, 3] (no tokenizer needed)' },
    tokenizer: { type: 'string', value: 'PATH', description: "tokenizer.json or its folder (default: the model's)" },
    chat: { type: 'boolean', description: "send each --prompt as a user message through the tokenizer's chat template" },
    system: { type: 'string', value: 'TEXT', description: 'with --chat: a system message first' },
    adapter: { type: 'string', multiple: true, value: 'DIR', description: 'a saved adapter folder to load' },
    setup: { type: 'string', value: 'SETUP', description: "composition of the loaded adapters, e.g. 'Stack[a, b]'" },
    'max-new-tokens': { type: 'string', value: 'N', description: 'tokens to generate at most (default 32)' },
    sample: { type: 'boolean', description: 'sample instead of greedy decoding' },
    temperature: { type: 'string', value: 'T', description: 'sampling temperature (default 1)' },
    'top-k': { type: 'string', value: 'K', description: 'sample among the K most likely tokens' },
    'top-p': { type: 'string', value: 'P', description: 'sample among the most likely tokens whose probability reaches P' },
    'repetition-penalty': { type: 'string', value: 'R', description: "transformers' repetition penalty (default 1: off)" },
    seed: { type: 'string', value: 'N', description: 'seed of the sampling (default 0)' },
    stop: { type: 'string', multiple: true, value: 'TEXT', description: 'stop a prompt once its continuation contains TEXT' },
    'stop-token': { type: 'string', multiple: true, value: 'ID', description: 'stop a prompt at this token id' },
    'no-cache': { type: 'boolean', description: 'recompute the whole sequence each step (no key/value cache)' },
  },
  examples: [
    "adapterkit generate --model models/smollm2-135m --prompt 'The capital of France is' --max-new-tokens 16",
    "adapterkit generate --model models/smollm2-135m --adapter out/lora --prompt 'Q: 2+2?' --sample --top-p 0.9 --seed 1",
    'adapterkit generate --model fixtures/golden-next/models/llama --prompt-ids [1,2,3] --max-new-tokens 8',
  ],
  async run(args, ctx) {
    const texts = args.strings('prompt');
    const idPrompts = args.strings('prompt-ids').map(parseIds);
    if (texts.length === 0 && idPrompts.length === 0) throw new UsageError(`give --prompt TEXT or --prompt-ids JSON (see 'adapterkit generate --help')`);
    const sampled = args.flag('sample') || args.has('temperature') || args.has('top-k') || args.has('top-p');
    const stopTokens = args.strings('stop-token').map((s) => {
      if (!/^\d+$/.test(s.trim())) throw new UsageError(`--stop-token expects a token id, got '${s}'`);
      return Number(s);
    });
    const options = {
      maxNewTokens: args.int('max-new-tokens', 32, 0),
      doSample: sampled,
      temperature: args.number('temperature', 1),
      topK: args.int('top-k', 0, 0),
      topP: args.number('top-p', 1),
      repetitionPenalty: args.number('repetition-penalty', 1),
      seed: args.int('seed', 0, 0),
      useCache: !args.flag('no-cache'),
    };
    if (options.topP > 1) throw new UsageError(`--top-p must be at most 1, got ${options.topP}`);

    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    try {
      if (model.info.isDecoder !== true) throw new CliError(`generate needs a decoder model (gpt2, llama, qwen2); ${source.spec} is a ${model.info.modelType} encoder`);
      const needTokenizer = texts.length > 0 || args.has('tokenizer') || args.strings('stop').length > 0;
      const tok = needTokenizer ? await resolveTokenizer(ctx, args.string('tokenizer'), [source.dir], model.info.vocabSize) : undefined;
      const tokenizer = tok?.tokenizer;
      const chat = args.flag('chat');
      if (args.has('system') && !chat) throw new UsageError('--system needs --chat');
      const encodeText = (t: string): number[] => {
        if (!chat) return tokenizer!.encode(t).ids;
        const messages = [...(args.has('system') ? [{ role: 'system', content: args.string('system')! }] : []), { role: 'user', content: t }];
        let text: string;
        try {
          text = applyChatTemplate(tokenizer!.config as Record<string, unknown>, messages);
        } catch (err) {
          throw new CliError(`--chat: ${tok!.from}: ${(err as Error).message}`);
        }
        // The template writes the special tokens itself.
        return tokenizer!.encode(text, null, { addSpecialTokens: false }).ids;
      };
      const prompts = [...texts.map(encodeText), ...idPrompts];
      const eos = tokenizer?.specialTokens.eos?.id;
      // Generation uses the host's own LM head: prediction heads saved next to an adapter are not loaded.
      const names: string[] = [];
      for (const d of args.strings('adapter')) names.push(await model.loadAdapter(adapterDir(ctx, d)));
      activate(model, names, args.string('setup'), ctx);

      // Ids the tokenizer lacks (a model vocabulary padded beyond the tokenizer's, as Qwen2's) decode to nothing.
      const decode = tokenizer
        ? (ids: readonly number[]): string => tokenizer.decode(ids.filter((i) => i < tokenizer.vocabSize), { skipSpecialTokens: true })
        : undefined;
      const full: GenerateOptions = {
        ...options,
        stopTokens: [...stopTokens, ...(eos !== undefined ? [eos] : [])],
        ...(decode ? { decode } : {}),
        ...(args.strings('stop').length ? { stopStrings: args.strings('stop') } : {}),
      };
      const stream = prompts.length === 1;
      const streamed: number[] = [];
      let printed = '';
      const started = Date.now();
      const it = generateSteps(model, prompts, full);
      let result: GenerationResult;
      for (;;) {
        const r = it.next();
        if (r.done) {
          result = r.value;
          break;
        }
        const t = r.value.tokens[0];
        if (!stream || t === undefined) continue;
        streamed.push(t);
        if (!decode) {
          ctx.io.stdout.write(`${t} `);
          continue;
        }
        // Print the new part of the text; wait while the last token ends inside a multi-byte character.
        const text = decode(streamed);
        if (text.startsWith(printed) && !text.endsWith('\uFFFD')) {
          ctx.io.stdout.write(text.slice(printed.length));
          printed = text;
        }
      }
      const seconds = (Date.now() - started) / 1000;
      if (stream) {
        const rest = decode ? decode(result.tokens[0]!) : '';
        if (decode && rest.startsWith(printed)) ctx.io.stdout.write(rest.slice(printed.length));
        ctx.io.stdout.write('\n');
      } else {
        result.tokens.forEach((t, i) => ctx.out(`[${i}] ${decode ? JSON.stringify(decode(t)) : JSON.stringify(t)}`));
      }
      const n = result.tokens.reduce((a, t) => a + t.length, 0);
      ctx.note(`${n} tokens in ${seconds.toFixed(2)} s (${(n / Math.max(seconds, 1e-9)).toFixed(1)} tokens/s); finished: ${result.finishReasons.join(', ')}`);
    } finally {
      model.dispose();
    }
  },
};
