import { rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AdapterModel, toPythonJson, writeFilesAtomic } from '@adapterkit/core';
import { saveTokenizer, trainWordPiece } from '@adapterkit/data';
import { initHost } from '@adapterkit/models';
import { addMaskedLmHead, HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE, serializeHead, train } from '@adapterkit/training';
import type { Args } from '../cli/args';
import type { CommandSpec, Context } from '../cli/command';
import { CliError } from '../cli/errors';
import { formatBytes } from '../runtime/files';
import { cardShapeOf, modelCard, PRETRAINING_FILE, pretrainingJson, specialTokensText, type Phase } from '../runtime/model-card';
import { loadCorpus, type Corpus } from '../runtime/pretrain-data';
import { bertConfig, countParameters, EMBEDDED_SHAPE, loadMlmHead, pretrainedWeightsFile, readInitFolder, type InitFolder } from '../runtime/pretrain-model';
import {
  CHECKPOINT_EVERY,
  countMasked,
  EVAL_MASK_SEED,
  evalEveryFor,
  HELD_OUT_FRACTION,
  maskedPositionsLoss,
  maskedSequences,
  maskingCopies,
  MLM_HEAD,
  packSequences,
  splitHeldOut,
  warmupStepsFor,
  WEIGHT_DECAY,
} from '../runtime/pretrain-recipe';
import { formatDuration, formatMetrics, Progress } from '../runtime/progress';

/** The architecture flags, which a continued phase (`--init`) takes from the model instead. */
const SHAPE_FLAGS = ['layers', 'hidden', 'heads', 'intermediate', 'vocab-size'] as const;
/** The corpus of the embedded model (`--embedded-model`). */
const EMBEDDED_CORPUS = 'embedded:english';

/** The command line, checked. */
interface Options {
  /** `--corpus` as given. */
  readonly corpus: string;
  readonly out: string;
  readonly init: string | undefined;
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly vocabSize: number;
  /** Undefined: the default (128), or the `--init` model's positions. */
  readonly maxLength: number | undefined;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: number;
  readonly checkpointDir: string | undefined;
  readonly resume: boolean;
  readonly recordCommand: string | undefined;
  readonly embeddedModel: boolean;
}

function readOptions(args: Args, cwd: string): Options {
  const opt = (name: string): string | undefined => {
    const v = args.string(name);
    return v === undefined ? undefined : resolve(cwd, v);
  };
  const o: Options = {
    corpus: args.required('corpus', 'embedded:english|FILE'),
    out: resolve(cwd, args.required('out', 'DIR')),
    init: opt('init'),
    layers: args.int('layers', EMBEDDED_SHAPE.layers),
    hidden: args.int('hidden', EMBEDDED_SHAPE.hidden),
    heads: args.int('heads', EMBEDDED_SHAPE.heads),
    intermediate: args.int('intermediate', EMBEDDED_SHAPE.intermediate),
    vocabSize: args.int('vocab-size', EMBEDDED_SHAPE.vocabSize, 10),
    maxLength: args.int('max-length', undefined, 8),
    steps: args.int('steps', 500),
    batchSize: args.int('batch-size', 16),
    lr: args.number('lr', 5e-4),
    seed: args.int('seed', 42, 0),
    checkpointDir: opt('checkpoint-dir'),
    resume: args.flag('resume'),
    recordCommand: args.string('record-command'),
    embeddedModel: args.flag('embedded-model'),
  };
  if (o.hidden % o.heads !== 0) throw new CliError(`--hidden ${o.hidden} is not divisible by --heads ${o.heads}`);
  if (o.init) {
    const given = SHAPE_FLAGS.find((f) => args.has(f));
    if (given) throw new CliError(`--${given} cannot be combined with --init: a continued phase keeps the model's shape (from its config.json)`);
  }
  if (o.resume && !o.checkpointDir) throw new CliError('--resume needs --checkpoint-dir DIR (the checkpoints to resume from)');
  if (o.embeddedModel && o.corpus !== EMBEDDED_CORPUS) throw new CliError(`--embedded-model needs --corpus ${EMBEDDED_CORPUS}`);
  return o;
}

/** A path as the phase record shows it: relative to the working directory when inside it, else absolute. */
function displayPath(cwd: string, path: string): string {
  const rel = relative(cwd, path);
  if (rel === '') return '.';
  return rel.startsWith('..') || isAbsolute(rel) ? path : rel.split(sep).join('/');
}

const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/** The `adapterkit pretrain …` line that reproduces this phase (every value explicit, paths relative). */
function reproduceCommand(o: Options, corpus: Corpus, maxLength: number, args: Args, cwd: string): string {
  const where = (p: string): string => displayPath(cwd, p);
  const words = ['adapterkit', 'pretrain', '--corpus', corpus.spec.startsWith('embedded:') ? corpus.spec : where(resolve(cwd, corpus.spec)), '--out', where(o.out)];
  if (o.init) words.push('--init', where(o.init));
  else words.push('--layers', `${o.layers}`, '--hidden', `${o.hidden}`, '--heads', `${o.heads}`, '--intermediate', `${o.intermediate}`, '--vocab-size', `${o.vocabSize}`, '--max-length', `${maxLength}`);
  words.push('--steps', `${o.steps}`, '--batch-size', `${o.batchSize}`, '--lr', `${o.lr}`, '--seed', `${o.seed}`);
  const backend = args.string('backend');
  if (backend) words.push('--backend', backend);
  if (o.embeddedModel) words.push('--embedded-model');
  return words.map(shellWord).join(' ');
}

/** Run one phase and write the folder. */
async function pretrain(args: Args, ctx: Context): Promise<void> {
  const cwd = ctx.io.cwd;
  const o = readOptions(args, cwd);
  const backend = await ctx.ensureBackend();
  const init: InitFolder | undefined = o.init ? await readInitFolder(o.init, `--init ${args.string('init')}`) : undefined;
  if (init && o.maxLength !== undefined && o.maxLength !== init.maxLength) {
    throw new CliError(`--max-length ${o.maxLength}: the --init model has ${init.maxLength} positions (a continued phase keeps them)`);
  }
  const maxLength = init?.maxLength ?? o.maxLength ?? EMBEDDED_SHAPE.maxLength;
  const corpus = await loadCorpus(o.corpus, cwd);

  const split = splitHeldOut(corpus.texts);
  const tokenizer = init?.tokenizer ?? trainWordPiece(split.train, { vocabSize: o.vocabSize, modelMaxLength: maxLength });
  const padTokenId = tokenizer.padTokenId;
  if (padTokenId === undefined) throw new CliError('pre-training needs a tokenizer with a [PAD] token');
  const trainSeqs = packSequences(tokenizer, split.train, maxLength);
  const heldSeqs = packSequences(tokenizer, split.held, maxLength);
  if (heldSeqs.length === 0) throw new CliError(`--corpus ${corpus.spec}: the held-out passages have no tokens`);
  const copies = maskingCopies(o.steps, o.batchSize, trainSeqs.length);
  const trainData = maskedSequences(tokenizer, trainSeqs, copies, o.seed);
  const evalData = maskedSequences(tokenizer, heldSeqs, 1, EVAL_MASK_SEED);
  const trainTokens = trainSeqs.reduce((n, s) => n + s.length, 0);
  ctx.note(
    `corpus: ${corpus.texts.length} passages (${split.train.length} train / ${split.held.length} held out); WordPiece ${tokenizer.vocabSize} tokens` +
      `${init ? ` (from ${args.string('init')})` : ''}; ${trainSeqs.length} training sequences (${trainTokens} tokens, ${copies} masking(s)), ${heldSeqs.length} held-out sequences`,
  );

  const config = init?.config ?? bertConfig({ layers: o.layers, hidden: o.hidden, heads: o.heads, intermediate: o.intermediate, maxLength }, tokenizer.vocabSize, padTokenId);
  const model = new AdapterModel(init?.host ?? initHost(config, o.seed), { methods: [], warn: (m) => ctx.note(m) });
  addMaskedLmHead(model, MLM_HEAD, { seed: o.seed });
  if (init) await loadMlmHead(model, o.init!, `--init ${args.string('init')}`);
  const params = countParameters(model);
  const shape = cardShapeOf(config);
  ctx.note(`pre-training BERT ${shape.layers}×${shape.hidden} (${params.toLocaleString('en-US')} parameters): ${o.steps} steps × ${o.batchSize} × ${maxLength}, lr ${o.lr}, seed ${o.seed}, backend ${backend.name}`);

  const warmupSteps = warmupStepsFor(o.steps);
  const progress = new Progress(ctx.io.stderr, 'pretrain', o.steps);
  const result = await train(model, {
    mode: 'full',
    lossFn: maskedPositionsLoss,
    labelKind: 'token',
    trainData,
    evalData,
    metrics: ['loss', 'perplexity'],
    maxSteps: o.steps,
    evalEvery: evalEveryFor(o.steps),
    batchSize: o.batchSize,
    lr: o.lr,
    warmupSteps,
    weightDecay: WEIGHT_DECAY,
    dropout: false,
    seed: o.seed,
    padTokenId,
    ...(o.checkpointDir ? { checkpointDir: o.checkpointDir, checkpointEvery: CHECKPOINT_EVERY, keepCheckpoints: 1 } : {}),
    ...(o.resume ? { resumeFrom: 'latest' } : {}),
    onProgress: (e) => {
      if (e.type === 'step') progress.update(e);
      else if (e.type === 'eval') progress.log(`held-out at step ${e.step}: ${formatMetrics(e.metrics)}`);
    },
  });
  const seconds = progress.done();
  const final = result.history[result.history.length - 1]!.metrics;

  const cpu = cpus();
  const phase: Phase = {
    command: o.recordCommand ?? reproduceCommand(o, corpus, maxLength, args, cwd),
    init: o.init ? displayPath(cwd, o.init) : null,
    steps: result.step,
    batchSize: o.batchSize,
    maxLength,
    lr: o.lr,
    warmupSteps,
    seed: o.seed,
    maskings: copies,
    seconds: Math.round(seconds),
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, tfjs ${backend.name} backend (${backend.threads ?? 1} thread)`,
    heldOut: result.history.map((h) => ({ step: h.step, loss: Number(h.metrics['loss']!.toFixed(4)), perplexity: Number(h.metrics['perplexity']!.toFixed(2)) })),
  };
  const phases = [...(init?.phases ?? []), phase];
  const weights = await pretrainedWeightsFile(model);
  const adapterHubHead = !o.embeddedModel;
  const card = modelCard({
    name: basename(o.out),
    path: displayPath(cwd, o.out),
    corpus,
    shape,
    params,
    vocabSize: tokenizer.vocabSize,
    specialTokens: specialTokensText(tokenizer),
    passages: { total: corpus.texts.length, train: split.train.length, held: split.held.length },
    chars: corpus.chars,
    trainSeqs: trainSeqs.length,
    trainTokens,
    heldSeqs: heldSeqs.length,
    heldMasked: countMasked(evalData),
    weightsBytes: weights.byteLength,
    phases,
    adapterHubHead,
    embeddedModel: o.embeddedModel,
  });
  await writeFilesAtomic(o.out, {
    'config.json': `${toPythonJson(config, { indent: 2, sortKeys: true })}\n`,
    'model.safetensors': weights,
    [PRETRAINING_FILE]: pretrainingJson(phases),
    'README.md': card,
    ...(adapterHubHead ? await serializeHead(model, MLM_HEAD, { tiedWeights: false }) : {}),
  });
  // The embedded model is a plain transformers folder: no head files (not even stale ones from another run).
  if (!adapterHubHead) for (const f of [HEAD_CONFIG_FILE, HEAD_WEIGHTS_FILE]) rmSync(join(o.out, f), { force: true });
  await saveTokenizer(tokenizer, o.out);
  model.dispose();
  ctx.out(`pre-trained ${result.step} steps in ${formatDuration(seconds)}; held-out (${split.held.length} texts): ${formatMetrics(final)}`);
  ctx.out(
    `wrote ${o.out}: config.json, model.safetensors (${formatBytes(weights.byteLength)}), tokenizer.json, vocab.txt, ${PRETRAINING_FILE}, README.md` +
      `${adapterHubHead ? `, ${HEAD_CONFIG_FILE}, ${HEAD_WEIGHTS_FILE}` : ''} (phase ${phases.length})`,
  );
}

/** `adapterkit pretrain`: pre-train a small BERT with masked language modelling, from scratch or continuing a phase. */
export const pretrainCommand: CommandSpec = {
  name: 'pretrain',
  summary: 'pre-train a small BERT with masked LM (WordPiece tokenizer + model from scratch, or a further phase)',
  usage: [
    '--corpus embedded:english|FILE --out DIR [--layers 4 --hidden 256 --heads 4 --intermediate 1024 --vocab-size 8000 --max-length 128] [--steps 500 --batch-size 16 --lr 5e-4 --seed 42]',
    '--corpus embedded:english|FILE --init DIR --out DIR [--steps N --batch-size 16 --lr 5e-4 --seed 43]',
  ],
  details: [
    `Holds out ${HELD_OUT_FRACTION * 100} % of the passages (a fixed seeded choice: every phase and --seed is measured on the same ones),`,
    'trains an uncased WordPiece tokenizer on the rest, packs their tokens into [CLS] … [SEP] sequences of --max-length',
    "tokens, masks 15 % of the tokens with BERT's 80/10/10 rule (a new masking for every pass over the data), and",
    'trains every weight of a BERT (initialised as transformers does, MLM head tied to the word embeddings) on the',
    'masked positions: AdamW (weight decay 0.01), linear schedule with 6 % warm-up, gradient clipping 1.0, no dropout.',
    'The held-out MLM loss and perplexity are measured four times per run, on fixed masks.',
    '',
    'Writes a Hugging Face BertForMaskedLM folder: config.json, model.safetensors (bert.* without the pooler, and',
    'cls.predictions.*), tokenizer.json, vocab.txt, tokenizer_config.json, special_tokens_map.json, the MLM head in',
    "the AdapterHub layout (head_config.json, model_head.safetensors) for 'adapterkit predict --model DIR', the record",
    'of the phases (pretraining.json) and a model card README.md generated from it (figures and the commands that',
    'reproduce the model). --init DIR continues pre-training a folder this command wrote (its weights, MLM head,',
    "tokenizer and positions) with a new schedule: a further phase, appended to the record. Deterministic for the",
    'flags and the backend. A FILE corpus has one passage per non-empty line.',
    '',
    'pnpm pretrain:embedded (the repository script that builds packages/bert-mini/model) runs this command with',
    '--corpus embedded:english --backend wasm --embedded-model (the embedded model\'s card, no AdapterHub head files)',
    'and --record-command with its own command line, which pretraining.json and the card then list.',
  ],
  options: {
    corpus: { type: 'string', value: 'embedded:english|FILE', description: 'embedded:english, embedded:moby-dick, embedded:sotu, or a text file' },
    out: { type: 'string', value: 'DIR', description: 'output model folder (may be the --init folder)' },
    init: { type: 'string', value: 'DIR', description: "continue pre-training this folder (written by 'adapterkit pretrain'): a further phase" },
    layers: { type: 'string', value: 'N', description: 'Transformer layers', default: String(EMBEDDED_SHAPE.layers) },
    hidden: { type: 'string', value: 'N', description: 'hidden size', default: String(EMBEDDED_SHAPE.hidden) },
    heads: { type: 'string', value: 'N', description: 'attention heads', default: String(EMBEDDED_SHAPE.heads) },
    intermediate: { type: 'string', value: 'N', description: 'feed-forward size', default: String(EMBEDDED_SHAPE.intermediate) },
    'vocab-size': { type: 'string', value: 'N', description: 'WordPiece vocabulary size', default: String(EMBEDDED_SHAPE.vocabSize) },
    'max-length': { type: 'string', value: 'N', description: 'tokens per sequence = positions of the model', default: `${EMBEDDED_SHAPE.maxLength}, with --init the model's` },
    steps: { type: 'string', value: 'N', description: 'optimizer steps of this phase', default: '500' },
    'batch-size': { type: 'string', value: 'N', description: 'sequences per step', default: '16' },
    lr: { type: 'string', value: 'RATE', description: 'peak learning rate', default: '5e-4' },
    seed: { type: 'string', value: 'N', description: 'seed of initialisation, data order and masks', default: '42' },
    'checkpoint-dir': { type: 'string', value: 'DIR', description: `write a checkpoint every ${CHECKPOINT_EVERY} steps there (the newest one kept)` },
    resume: { type: 'boolean', description: 'resume from the newest checkpoint in --checkpoint-dir' },
    'record-command': { type: 'string', value: 'CMD', description: 'command line recorded for this phase (default: the equivalent adapterkit pretrain line; for wrappers)' },
    'embedded-model': { type: 'boolean', description: "write the repository's embedded model: its card, no AdapterHub head (needs --corpus embedded:english)" },
  },
  examples: [
    'adapterkit pretrain --corpus embedded:english --out models/my-bert --steps 500 --seed 42',
    'adapterkit pretrain --corpus embedded:english --init models/my-bert --out models/my-bert --steps 500 --seed 43',
    'adapterkit pretrain --corpus notes.txt --out models/tiny --layers 2 --hidden 64 --heads 2 --intermediate 128 --vocab-size 2000 --steps 100',
  ],
  run: pretrain,
};
