import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, Rng, toFileLayout } from '@adapterkit/core';
import { saveTokenizer, trainWordPiece } from '@adapterkit/data';
import { initHost } from '@adapterkit/models';
import { addMaskedLmHead, getHeads, saveHead, train } from '@adapterkit/training';
import type { Args } from '../cli/args';
import type { CommandSpec } from '../cli/command';
import { CliError } from '../cli/errors';
import { formatMetrics } from '../runtime/evaluate';
import { fileSize, formatBytes } from '../runtime/files';
import { hostOf } from '../runtime/limits';
import { ALL_METHODS } from '../runtime/methods';
import { writeModelDir } from '../runtime/model-files';
import { loadCorpus, maskedCopies, packSequences } from '../runtime/pretrain-data';
import { formatDuration, Progress } from '../runtime/progress';

const HEAD = 'mlm';
/** Share of the corpus texts held out for the final MLM loss, and its cap in texts. */
const HELD_OUT = { fraction: 0.05, maxTexts: 100 } as const;

interface Shape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocabSize: number;
  readonly maxLength: number;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: number;
}

function readShape(args: Args): Shape {
  const s: Shape = {
    layers: args.int('layers', 4),
    hidden: args.int('hidden', 256),
    heads: args.int('heads', 4),
    intermediate: args.int('intermediate', 1024),
    vocabSize: args.int('vocab-size', 8000, 10),
    maxLength: args.int('max-length', 128, 8),
    steps: args.int('steps', 200),
    batchSize: args.int('batch-size', 16),
    lr: args.number('lr', 5e-4),
    seed: args.int('seed', 42, 0),
  };
  if (s.hidden % s.heads !== 0) throw new CliError(`--hidden ${s.hidden} is not divisible by --heads ${s.heads}`);
  return s;
}

/** HF `config.json` of the pre-trained BERT (BertForMaskedLM, the transformers 4.26 defaults otherwise). */
function bertConfig(s: Shape, vocabSize: number, padTokenId: number): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: s.hidden,
    initializer_range: 0.02,
    intermediate_size: s.intermediate,
    layer_norm_eps: 1e-12,
    max_position_embeddings: Math.max(512, s.maxLength),
    model_type: 'bert',
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    pad_token_id: padTokenId,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: vocabSize,
  };
}

/**
 * The masked-LM head in `BertForMaskedLM`'s layout: module 0 (Linear) → `cls.predictions.transform.dense`, 2
 * (LayerNorm) → `cls.predictions.transform.LayerNorm`, the tied decoder's bias → `cls.predictions.bias` (the decoder
 * weight is the word embeddings, not written, as transformers ties it on load).
 */
function mlmHeadWeights(model: AdapterModel): Map<string, tf.Tensor> {
  const head = getHeads(model).require(HEAD);
  const names: Record<string, string> = { linear: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', tied: 'cls.predictions' };
  const out = new Map<string, tf.Tensor>();
  for (const p of head.list()) {
    const m = /\.(\d+)\.(weight|bias)$/.exec(p.key);
    const kind = m ? head.modules.find((mod) => mod.index === Number(m[1]))?.kind : undefined;
    if (!m || !kind || !names[kind]) throw new CliError(`unexpected masked-LM head parameter ${p.key}`);
    out.set(`${names[kind]}.${m[2]}`, toFileLayout(p));
  }
  return out;
}

function modelCard(o: {
  out: string;
  corpus: string;
  shape: Shape;
  vocabSize: number;
  params: number;
  sequences: number;
  copies: number;
  heldOut: number;
  steps: number;
  seconds: number;
  metrics: Readonly<Record<string, number>>;
  backend: string;
}): string {
  const s = o.shape;
  return `---
language: en
library_name: adapterkit
tags:
- bert
- fill-mask
- adapterkit
---

# ${o.out.split(/[\\/]/).pop()}

A small BERT pre-trained from scratch with masked language modelling by \`adapterkit pretrain\`
(TensorFlow.js, ${o.backend} backend). It is a base model for adapters: load it with \`--model\` in the
\`adapterkit\` CLI, \`loadHost()\` of \`@adapterkit/models\`, or \`BertForMaskedLM.from_pretrained\` in transformers.

| | |
| --- | --- |
| corpus | ${o.corpus} |
| tokenizer | WordPiece trained on the corpus (uncased), ${o.vocabSize} tokens (asked for ${s.vocabSize}) |
| architecture | BERT: ${s.layers} layers, hidden ${s.hidden}, ${s.heads} heads, FFN ${s.intermediate}, ${o.params.toLocaleString('en-US')} parameters (without the MLM head) |
| training | ${o.steps} steps × ${s.batchSize} sequences of up to ${s.maxLength} tokens (${o.sequences} packed sequences, ${o.copies} masking(s)), AdamW lr ${s.lr}, weight decay 0.01, 6 % warm-up then linear decay, seed ${s.seed} |
| time | ${formatDuration(o.seconds)} |
| held-out MLM loss | ${o.metrics['loss']?.toFixed(4) ?? 'n/a'} (on ${o.heldOut} held-out passages, 15 % of the tokens masked) |
| held-out perplexity | ${o.metrics['perplexity']?.toFixed(2) ?? 'n/a'} |

Files: \`config.json\`, \`model.safetensors\` (\`bert.*\` and \`cls.predictions.*\` weights, as transformers saves a
\`BertForMaskedLM\`), \`tokenizer.json\`, \`vocab.txt\`, \`tokenizer_config.json\`, \`special_tokens_map.json\`, and the
masked-LM head in the AdapterHub layout (\`head_config.json\`, \`model_head.safetensors\`) for
\`adapterkit predict --model . '… [MASK] …'\`.
`;
}

/** `adapterkit pretrain`: a small BERT from scratch on a corpus. */
export const pretrainCommand: CommandSpec = {
  name: 'pretrain',
  summary: 'pre-train a small BERT from scratch (WordPiece tokenizer + masked LM) and write a model folder',
  usage: ['--corpus embedded:english|FILE --out DIR [--layers 4 --hidden 256 --heads 4 --intermediate 1024 --vocab-size 8000 --max-length 128 --steps N --batch-size 16 --lr 5e-4]'],
  details: [
    'Builds a WordPiece tokenizer on the corpus, initialises a BERT, trains it with masked language modelling (the',
    "training package's trainer, every weight trained), and writes a Hugging Face model folder (config.json,",
    'model.safetensors, tokenizer.json, vocab.txt, tokenizer_config.json) with a model card README.md giving the',
    `corpus, tokenizer, steps, time, and the MLM loss and perplexity on ${HELD_OUT.fraction * 100} % of the texts held out`,
    `(at most ${HELD_OUT.maxTexts}). A FILE corpus has one passage per non-empty line.`,
  ],
  options: {
    corpus: { type: 'string', value: 'embedded:english|FILE', description: 'embedded:english, embedded:moby-dick, embedded:sotu, or a text file' },
    out: { type: 'string', value: 'DIR', description: 'output model folder' },
    layers: { type: 'string', value: 'N', description: 'Transformer layers', default: '4' },
    hidden: { type: 'string', value: 'N', description: 'hidden size', default: '256' },
    heads: { type: 'string', value: 'N', description: 'attention heads', default: '4' },
    intermediate: { type: 'string', value: 'N', description: 'feed-forward size', default: '1024' },
    'vocab-size': { type: 'string', value: 'N', description: 'WordPiece vocabulary size', default: '8000' },
    'max-length': { type: 'string', value: 'N', description: 'tokens per training sequence', default: '128' },
    steps: { type: 'string', value: 'N', description: 'optimizer steps', default: '200' },
    'batch-size': { type: 'string', value: 'N', description: 'sequences per step', default: '16' },
    lr: { type: 'string', value: 'RATE', description: 'peak learning rate', default: '5e-4' },
    seed: { type: 'string', value: 'N', description: 'seed of initialisation, masking, data order and dropout', default: '42' },
  },
  examples: [
    'adapterkit pretrain --corpus embedded:english --out models/my-bert --steps 2000',
    'adapterkit pretrain --corpus notes.txt --out models/tiny --layers 2 --hidden 64 --heads 2 --intermediate 128 --vocab-size 2000 --steps 100',
  ],
  async run(args, ctx) {
    const s = readShape(args);
    const out = resolve(ctx.io.cwd, args.required('out', 'DIR'));
    const corpus = await loadCorpus(args.required('corpus', 'embedded:english|FILE'), ctx.io.cwd);
    const backend = await ctx.ensureBackend();

    // Hold out whole texts (seeded) before building the tokenizer, so the held-out loss is honest.
    const order = [...corpus.texts.keys()];
    const rng = new Rng(s.seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const nHeld = Math.min(HELD_OUT.maxTexts, Math.max(1, Math.round(corpus.texts.length * HELD_OUT.fraction)));
    const held = order.slice(0, nHeld).map((i) => corpus.texts[i]!);
    const trainTexts = order.slice(nHeld).map((i) => corpus.texts[i]!);

    const tokenizer = trainWordPiece(trainTexts, { vocabSize: s.vocabSize, modelMaxLength: s.maxLength });
    ctx.note(`WordPiece tokenizer: ${tokenizer.vocabSize} tokens from ${trainTexts.length} texts`);
    const sequences = packSequences(tokenizer, trainTexts, s.maxLength);
    const copies = Math.min(10, Math.max(1, Math.ceil((s.steps * s.batchSize) / sequences.length)));
    const trainData = maskedCopies(tokenizer, sequences, copies, s.seed);
    const evalData = maskedCopies(tokenizer, packSequences(tokenizer, held, s.maxLength), 1, s.seed + 7);

    const config = bertConfig(s, tokenizer.vocabSize, tokenizer.padTokenId ?? 0);
    const model = new AdapterModel(initHost(config, s.seed), { methods: ALL_METHODS, warn: (m) => ctx.note(m) });
    addMaskedLmHead(model, HEAD, { seed: s.seed });
    const params = model.info.numParameters;
    ctx.note(
      `pre-training BERT ${s.layers}×${s.hidden} (${params.toLocaleString('en-US')} parameters) on ${sequences.length} sequences` +
        ` (${copies} masking(s)): ${s.steps} steps of ${s.batchSize}`,
    );
    const progress = new Progress(ctx.io.stderr, 'pretrain', s.steps);
    const result = await train(model, {
      mode: 'full',
      head: HEAD,
      trainData,
      evalData,
      maxSteps: s.steps,
      evalEvery: s.steps,
      batchSize: s.batchSize,
      lr: s.lr,
      warmupSteps: Math.round(0.06 * s.steps),
      weightDecay: 0.01,
      seed: s.seed,
      padTokenId: tokenizer.padTokenId ?? 0,
      onProgress: (e) => e.type === 'step' && progress.update(e),
    });
    const seconds = progress.done();
    const metrics = result.history[result.history.length - 1]?.metrics ?? {};

    const weights = hostOf(model).exportWeights('bert.');
    for (const [k, t] of mlmHeadWeights(model)) weights.set(k, t);
    await writeModelDir(out, config, weights, {
      'README.md': modelCard({
        out,
        corpus: corpus.description,
        shape: s,
        vocabSize: tokenizer.vocabSize,
        params,
        sequences: sequences.length,
        copies,
        heldOut: held.length,
        steps: result.step,
        seconds,
        metrics,
        backend: backend.name,
      }),
    });
    await saveTokenizer(tokenizer, out);
    await saveHead(model, out, HEAD, { tiedWeights: false });
    ctx.out(`pre-trained ${result.step} steps in ${formatDuration(seconds)}; held-out (${held.length} texts): ${formatMetrics(metrics)}`);
    ctx.out(`wrote ${out}: config.json, model.safetensors (${formatBytes(fileSize(resolve(out, 'model.safetensors')))}), tokenizer.json, vocab.txt, README.md`);
  },
};
