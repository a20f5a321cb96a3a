/**
 * Pre-trains the embedded base model `models/adapterkit-bert-mini`: a small BERT trained from scratch with masked
 * language modelling on the embedded English corpus (`loadEmbeddedCorpus('english')`: Moby-Dick + State of the
 * Union addresses), with a WordPiece tokenizer trained on the same corpus. Deterministic for a seed.
 *
 *   pnpm pretrain:embedded [--steps 500] [--batch-size 16] [--max-length 128] [--lr 5e-4] [--seed 42] [--out DIR]
 *     [--init DIR] [--checkpoint-dir DIR [--resume]]
 *
 * With `--init DIR` the run continues pre-training a model folder this script wrote (its weights, MLM head and
 * tokenizer) with a new schedule: a second phase. Every phase is recorded in the folder's `pretraining.json`, from
 * which the model card lists the phases, their held-out losses and the commands that reproduce the model.
 *
 * Recipe:
 * - 5 % of the passages (seeded, fixed) are held out before anything is trained; the held-out MLM loss and perplexity
 *   are measured on them (15 % of the tokens masked with BERT's 80/10/10 rule, fixed masks).
 * - The tokenizer (uncased WordPiece, 8000 tokens) is trained on the other 95 %. Their tokens are concatenated and cut
 *   into `[CLS] … [SEP]` sequences of `--max-length` tokens (as transformers' `run_mlm.py` groups texts); each
 *   sequence is masked once per pass over the data (new masks per pass and per `--seed`).
 * - BERT 4 layers × hidden 256, 4 heads, FFN 1024, 128 positions, initialised as transformers does (`initHost`); the
 *   MLM head tied to the input embeddings. AdamW (weight decay 0.01), linear schedule with 6 % warm-up, gradient
 *   clipping at 1.0, no dropout during pre-training (short budget; the config keeps BERT's 0.1 for fine-tuning).
 * - The vocabulary projection runs on the masked positions only (the loss is the same as on every position with
 *   −100 labels elsewhere, at ~60 % of the cost).
 *
 * Output (a Hugging Face `BertForMaskedLM` folder): `config.json`, `model.safetensors` (`bert.*` + `cls.predictions.*`
 * keys; no pooler, as `BertForMaskedLM` has none), `tokenizer.json`, `vocab.txt`, `tokenizer_config.json`,
 * `special_tokens_map.json`, `pretraining.json`, and a model card `README.md` with the measured figures.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, fromFileLayout, initBackend, readSafetensors, Rng, tensorEntryToTf, toFileLayout, toPythonJson, writeFilesAtomic, type NamedParam } from '@adapterkit/core';
import { loadEmbeddedCorpus, loadTokenizer, maskTokens, saveTokenizer, trainWordPiece, type Tokenizer } from '@adapterkit/data';
import { initHost, loadHost } from '@adapterkit/models';
import { addMaskedLmHead, crossEntropy, getHeads, train, type Batch, type Example, type LossFn, type PredictionHead } from '@adapterkit/training';
import { safetensorsBytes } from './lib/task-runs';

const ROOT = resolve(import.meta.dirname, '..');
const HEAD = 'mlm';
const HELD_OUT_FRACTION = 0.05;
/** Seeds of the held-out split and of its masks: fixed, so that every phase is measured on the same tokens. */
const SPLIT_SEED = 42;
const EVAL_MASK_SEED = 49;
const MLM_PROBABILITY = 0.15;
const ARCH = { layers: 4, hidden: 256, heads: 4, intermediate: 1024, vocabSize: 8000 } as const;

const { values: argv } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    'batch-size': { type: 'string', default: '16' },
    'max-length': { type: 'string', default: '128' },
    lr: { type: 'string', default: '5e-4' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: join(ROOT, 'models/adapterkit-bert-mini') },
    init: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'boolean', default: false },
  },
});
const STEPS = Number(argv.steps);
const BATCH = Number(argv['batch-size']);
const INIT = argv.init === undefined ? undefined : resolve(argv.init);
const MAX_LEN = INIT ? (JSON.parse(readFileSync(join(INIT, 'config.json'), 'utf8')) as { max_position_embeddings: number }).max_position_embeddings : Number(argv['max-length']);
const LR = Number(argv.lr);
const SEED = Number(argv.seed);
const OUT = resolve(argv.out);

const log = (msg: string): void => console.log(`[pretrain ${new Date().toISOString().slice(11, 19)}] ${msg}`);

/** Seeded Fisher–Yates permutation of `0..n-1`. */
function permutation(n: number, seed: number): number[] {
  const order = [...Array(n).keys()];
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** Concatenate the texts' tokens and cut them into `[CLS] … [SEP]` sequences of `maxLength` tokens (the last shorter). */
function packSequences(tok: Tokenizer, texts: readonly string[], maxLength: number): number[][] {
  const [cls, sep] = [tok.clsTokenId!, tok.sepTokenId!];
  const body = maxLength - 2;
  const out: number[][] = [];
  let cur: number[] = [];
  for (const t of texts) {
    for (const id of tok.encode(t, null, { addSpecialTokens: false }).ids) {
      cur.push(id);
      if (cur.length === body) {
        out.push([cls, ...cur, sep]);
        cur = [];
      }
    }
  }
  if (cur.length > 0) out.push([cls, ...cur, sep]);
  return out;
}

/** `copies` masked versions of the sequences (a new mask per copy), seeded. */
function maskedExamples(tok: Tokenizer, seqs: readonly number[][], copies: number, seed: number): Example[] {
  const randomIds = [...Array(tok.vocabSize).keys()].filter((id) => !tok.specialIds.has(id));
  const special = seqs.map((s) => s.map((id) => (tok.specialIds.has(id) ? 1 : 0)));
  const out: Example[] = [];
  for (let k = 0; k < copies; k++) {
    const m = maskTokens(seqs, special, { maskTokenId: tok.maskTokenId!, randomIds, probability: MLM_PROBABILITY, rng: new Rng(seed + 1000 * k) });
    m.inputIds.forEach((ids, i) => out.push({ inputIds: ids, labels: m.labels[i]! }));
  }
  return out;
}

/**
 * MLM loss on the masked positions only: the encoder runs on `[B, S]`, the hidden states of the M positions with a
 * label (≠ −100) are gathered to `[1, M, H]`, and the head (transform + tied vocabulary projection) and the mean
 * cross-entropy run on those — the same value as the head's loss over every position.
 */
const maskedPositionsLoss: LossFn = (model, batch: Batch, { training }) => {
  const head = getHeads(model).require(HEAD);
  const labels = batch.labels!.dataSync();
  const positions: number[] = [];
  const targets: number[] = [];
  labels.forEach((l, i) => {
    if (l !== -100) {
      positions.push(i);
      targets.push(l);
    }
  });
  const hidden = model.forward(batch.inputs, { training }).lastHiddenState;
  const h = hidden.shape[2];
  const picked = tf.gather(tf.reshape(hidden, [-1, h]), tf.tensor1d(positions, 'int32'));
  const logits = head.forward({ lastHiddenState: tf.reshape(picked, [1, positions.length, h]) as tf.Tensor3D }, { training });
  return crossEntropy(tf.reshape(logits, [positions.length, -1]) as tf.Tensor2D, tf.tensor1d(targets, 'int32'));
};

function bertConfig(vocabSize: number, padTokenId: number): Record<string, unknown> {
  return {
    architectures: ['BertForMaskedLM'],
    attention_probs_dropout_prob: 0.1,
    classifier_dropout: null,
    hidden_act: 'gelu',
    hidden_dropout_prob: 0.1,
    hidden_size: ARCH.hidden,
    initializer_range: 0.02,
    intermediate_size: ARCH.intermediate,
    layer_norm_eps: 1e-12,
    max_position_embeddings: MAX_LEN,
    model_type: 'bert',
    num_attention_heads: ARCH.heads,
    num_hidden_layers: ARCH.layers,
    pad_token_id: padTokenId,
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
    transformers_version: '4.26.0',
    type_vocab_size: 2,
    use_cache: true,
    vocab_size: vocabSize,
  };
}

/** `BertForMaskedLM`'s state-dict name of an MLM-head parameter (module 0 Linear, 2 LayerNorm, 3 tied decoder bias). */
function headFileKey(head: PredictionHead, p: NamedParam): string {
  const names: Record<string, string> = { linear: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', tied: 'cls.predictions' };
  const m = /\.(\d+)\.(weight|bias)$/.exec(p.key);
  const kind = m ? head.modules.find((mod) => mod.index === Number(m[1]))?.kind : undefined;
  if (!m || !kind || !names[kind]) throw new Error(`unexpected masked-LM head parameter ${p.key}`);
  return `${names[kind]}.${m[2]}`;
}

/** Every weight under `BertForMaskedLM`'s state-dict names (file layout), without the untrained pooler. */
function exportWeights(model: AdapterModel): Map<string, tf.Tensor> {
  const host = model.host as ReturnType<typeof initHost>;
  const out = new Map<string, tf.Tensor>();
  for (const [k, t] of host.exportWeights('bert.')) {
    if (k.startsWith('bert.pooler.')) t.dispose();
    else out.set(k, t);
  }
  const head = getHeads(model).require(HEAD);
  for (const p of head.list()) out.set(headFileKey(head, p), toFileLayout(p));
  return out;
}

/** Set the MLM head's parameters from a folder this script wrote (`cls.predictions.*` in `model.safetensors`). */
async function loadMlmHead(model: AdapterModel, dir: string): Promise<void> {
  const { tensors } = await readSafetensors(join(dir, 'model.safetensors'));
  const head = getHeads(model).require(HEAD);
  for (const p of head.list()) {
    const entry = tensors.get(headFileKey(head, p));
    if (!entry) throw new Error(`${dir}/model.safetensors has no ${headFileKey(head, p)}`);
    const t = fromFileLayout(p.layout, tensorEntryToTf(entry));
    p.variable.assign(t);
    t.dispose();
  }
}

/** One pre-training run, as recorded in `pretraining.json`. */
interface Phase {
  readonly command: string;
  readonly init: string | null;
  readonly steps: number;
  readonly batchSize: number;
  readonly maxLength: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly seed: number;
  readonly maskings: number;
  readonly seconds: number;
  readonly machine: string;
  readonly heldOut: readonly { readonly step: number; readonly loss: number; readonly perplexity: number }[];
}

const fmtTime = (s: number): string => `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const corpus = await loadEmbeddedCorpus('english');
  const order = permutation(corpus.texts.length, SPLIT_SEED);
  const nHeld = Math.round(corpus.texts.length * HELD_OUT_FRACTION);
  const heldTexts = order.slice(0, nHeld).sort((a, b) => a - b).map((i) => corpus.texts[i]!);
  const trainTexts = order.slice(nHeld).sort((a, b) => a - b).map((i) => corpus.texts[i]!);

  const tokenizer = INIT ? await loadTokenizer(INIT) : trainWordPiece(trainTexts, { vocabSize: ARCH.vocabSize, modelMaxLength: MAX_LEN });
  const trainSeqs = packSequences(tokenizer, trainTexts, MAX_LEN);
  const heldSeqs = packSequences(tokenizer, heldTexts, MAX_LEN);
  const copies = Math.max(1, Math.ceil((STEPS * BATCH) / trainSeqs.length));
  const trainData = maskedExamples(tokenizer, trainSeqs, copies, SEED);
  const evalData = maskedExamples(tokenizer, heldSeqs, 1, EVAL_MASK_SEED);
  const trainTokens = trainSeqs.reduce((n, s) => n + s.length, 0);
  log(`corpus: ${corpus.texts.length} passages (${trainTexts.length} train / ${heldTexts.length} held out); WordPiece ${tokenizer.vocabSize} tokens${INIT ? ` (from ${INIT})` : ''}`);
  log(`${trainSeqs.length} training sequences (${trainTokens} tokens, ${copies} masking(s)), ${heldSeqs.length} held-out sequences`);

  const config = INIT ? (JSON.parse(readFileSync(join(INIT, 'config.json'), 'utf8')) as Record<string, unknown>) : bertConfig(tokenizer.vocabSize, tokenizer.padTokenId!);
  const previous: Phase[] = INIT ? (JSON.parse(readFileSync(join(INIT, 'pretraining.json'), 'utf8')) as { phases: Phase[] }).phases : [];
  const model = new AdapterModel(INIT ? await loadHost(INIT) : initHost(config, SEED), { methods: [] });
  addMaskedLmHead(model, HEAD, { seed: SEED });
  if (INIT) await loadMlmHead(model, INIT);
  const params = [...model.host.parameters]
    .filter(([name]) => !name.startsWith('pooler.'))
    .reduce((n, [, v]) => n + v.size, 0);
  log(`BERT ${ARCH.layers}×${ARCH.hidden}, ${params} parameters; ${STEPS} steps × ${BATCH} × ${MAX_LEN}, lr ${LR}, seed ${SEED}, backend ${backend.name}`);

  const t0 = performance.now();
  const warmupSteps = Math.round(0.06 * STEPS);
  const result = await train(model, {
    mode: 'full',
    lossFn: maskedPositionsLoss,
    labelKind: 'token',
    trainData,
    evalData,
    metrics: ['loss', 'perplexity'],
    maxSteps: STEPS,
    evalEvery: Math.max(1, Math.round(STEPS / 4)),
    batchSize: BATCH,
    lr: LR,
    warmupSteps,
    weightDecay: 0.01,
    dropout: false,
    seed: SEED,
    padTokenId: tokenizer.padTokenId!,
    ...(argv['checkpoint-dir'] ? { checkpointDir: argv['checkpoint-dir'], checkpointEvery: 50, keepCheckpoints: 1 } : {}),
    ...(argv.resume ? { resumeFrom: 'latest' } : {}),
    onProgress: (e) => {
      if (e.type === 'step' && (e.step % 10 === 0 || e.step === 1)) {
        log(`step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} |g| ${e.gradNorm.toFixed(2)} ${Math.round(e.tokensPerSecond)} tok/s, ${fmtTime((performance.now() - t0) / 1000)}`);
      } else if (e.type === 'eval') {
        log(`held-out at step ${e.step}: loss ${e.metrics['loss']!.toFixed(4)} perplexity ${e.metrics['perplexity']!.toFixed(2)}`);
      }
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const final = result.history[result.history.length - 1]!.metrics;
  log(`done: ${result.step} steps in ${fmtTime(seconds)}; held-out loss ${final['loss']!.toFixed(4)} perplexity ${final['perplexity']!.toFixed(2)}`);

  const cpu = cpus();
  const rel = (dir: string): string => relative(ROOT, dir) || '.';
  const phase: Phase = {
    command:
      `pnpm pretrain:embedded${rel(OUT) === 'models/adapterkit-bert-mini' ? '' : ` --out ${rel(OUT)}`}${INIT ? ` --init ${rel(INIT)}` : ''}` +
      ` --steps ${STEPS} --batch-size ${BATCH}${INIT ? '' : ` --max-length ${MAX_LEN}`} --lr ${LR} --seed ${SEED}`,
    init: INIT ? rel(INIT) : null,
    steps: result.step,
    batchSize: BATCH,
    maxLength: MAX_LEN,
    lr: LR,
    warmupSteps,
    seed: SEED,
    maskings: copies,
    seconds: Math.round(seconds),
    machine: `${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, tfjs ${backend.name} backend (${backend.threads ?? 1} thread)`,
    heldOut: result.history.map((h) => ({ step: h.step, loss: Number(h.metrics['loss']!.toFixed(4)), perplexity: Number(h.metrics['perplexity']!.toFixed(2)) })),
  };
  const phases = [...previous, phase];
  const weights = await safetensorsBytes(exportWeights(model));
  const card = modelCard({
    params,
    vocabSize: tokenizer.vocabSize,
    passages: { total: corpus.texts.length, train: trainTexts.length, held: heldTexts.length },
    chars: corpus.chars,
    sources: corpus.sources.map((s) => `\`${s.package}\` (${s.license})`).join(', '),
    trainSeqs: trainSeqs.length,
    trainTokens,
    heldSeqs: heldSeqs.length,
    heldMasked: evalData.reduce((n, e) => n + (e.labels as number[]).filter((l) => l !== -100).length, 0),
    phases,
    weightsBytes: weights.byteLength,
  });
  await writeFilesAtomic(OUT, {
    'config.json': `${toPythonJson(config, { indent: 2, sortKeys: true })}\n`,
    'model.safetensors': weights,
    'pretraining.json': `${JSON.stringify({ phases }, null, 2)}\n`,
    'README.md': card,
  });
  await saveTokenizer(tokenizer, OUT);
  log(`wrote ${OUT} (model.safetensors ${(weights.byteLength / 1e6).toFixed(1)} MB)`);
  model.dispose();
}

interface CardFacts {
  params: number;
  vocabSize: number;
  passages: { total: number; train: number; held: number };
  chars: number;
  sources: string;
  trainSeqs: number;
  trainTokens: number;
  heldSeqs: number;
  heldMasked: number;
  phases: readonly Phase[];
  weightsBytes: number;
}

function modelCard(f: CardFacts): string {
  const last = f.phases[f.phases.length - 1]!;
  const final = last.heldOut[last.heldOut.length - 1]!;
  const steps = f.phases.reduce((n, p) => n + p.steps, 0);
  const seen = f.phases.reduce((n, p) => n + p.steps * p.batchSize, 0);
  const seconds = f.phases.reduce((n, p) => n + p.seconds, 0);
  const machines = [...new Set(f.phases.map((p) => p.machine))].join('; ');
  const phaseRow = (p: Phase, i: number): string =>
    `${f.phases.length > 1 ? `phase ${i + 1}${p.init ? ' (continued from phase ' + i + ')' : ''}: ` : ''}${p.steps} steps × batch ${p.batchSize} × ${p.maxLength} tokens, ` +
    `peak lr ${p.lr}, ${p.warmupSteps} warm-up steps then linear decay to 0, seed ${p.seed} (data order and masks), ${p.maskings} masking(s), ${fmtTime(p.seconds)}`;
  let offset = 0;
  const history = f.phases.flatMap((p, i) => {
    const rows = p.heldOut.map((h) => `| ${f.phases.length > 1 ? `${i + 1} | ` : ''}${offset + h.step} | ${h.loss.toFixed(4)} | ${h.perplexity.toFixed(2)} |`);
    offset += p.steps;
    return rows;
  });
  return `---
language: en
license: apache-2.0
library_name: adapterkit
tags:
- bert
- fill-mask
- adapterkit
---

# adapterkit-bert-mini

A small BERT pre-trained from scratch with masked language modelling by AdapterKit's own training harness
(TensorFlow.js, \`@adapterkit/training\`), on the English corpus embedded in \`@adapterkit/data\`. It is the default
base model of the repository (\`pnpm start\`, \`adapterkit … --model embedded\`): small enough to ship in git and to
train adapters on a laptop CPU in minutes. It is a demonstration model with a short pre-training budget, not a
general-purpose language model.

Load it with \`loadHost('models/adapterkit-bert-mini')\` (\`@adapterkit/models\`) and
\`loadTokenizer('models/adapterkit-bert-mini')\` (\`@adapterkit/data\`), or in Python with
\`BertForMaskedLM.from_pretrained\` / \`AutoTokenizer.from_pretrained\` (transformers).

| | |
| --- | --- |
| corpus | \`loadEmbeddedCorpus('english')\`: Melville's *Moby-Dick* and the US State of the Union addresses 1946–2021, ${f.passages.total} passages of ≤ 1000 characters, ${f.chars.toLocaleString('en-US')} characters; from ${f.sources} |
| held out | ${f.passages.held} passages (5 %, seeded) never seen by the tokenizer or the model: ${f.heldSeqs} sequences, ${f.heldMasked} masked tokens (fixed masks) |
| tokenizer | WordPiece (uncased, BERT normalisation and pre-tokenisation) trained on the ${f.passages.train} training passages with \`trainWordPiece\`: ${f.vocabSize} tokens, \`[PAD]\`=0 \`[UNK]\`=1 \`[CLS]\`=2 \`[SEP]\`=3 \`[MASK]\`=4 |
| architecture | BERT (post-LN), ${ARCH.layers} layers, hidden ${ARCH.hidden}, ${ARCH.heads} attention heads, FFN ${ARCH.intermediate}, GELU, ${MAX_LEN} positions, 2 token types; ${f.params.toLocaleString('en-US')} parameters (+ ${(ARCH.hidden * ARCH.hidden + 3 * ARCH.hidden + f.vocabSize).toLocaleString('en-US')} in the MLM head's transform and bias; the decoder is tied to the word embeddings); no pooler |
| data | the training passages' tokens concatenated and cut into ${f.trainSeqs} sequences of ${MAX_LEN} tokens (${f.trainTokens.toLocaleString('en-US')} tokens); 15 % of the tokens selected for prediction (80 % \`[MASK]\`, 10 % random, 10 % kept), new masks for every pass over the data |
| training | ${steps} steps, ${seen.toLocaleString('en-US')} sequences ≈ ${(seen / f.trainSeqs).toFixed(2)} passes over the data. ${f.phases.map(phaseRow).join('. ')}. AdamW (β 0.9/0.999, ε 1e-8, weight decay 0.01, none on biases and LayerNorm), gradient clipping 1.0, no dropout during pre-training (\`hidden_dropout_prob\`/\`attention_probs_dropout_prob\` stay 0.1 in the config for fine-tuning) |
| wall time | ${fmtTime(seconds)} (training and the held-out evaluations) |
| machine | ${machines}; the 2 cores were shared with other jobs |
| held-out MLM loss | **${final.loss.toFixed(4)}** (mean cross-entropy over the masked tokens of the held-out sequences) |
| held-out perplexity | **${final.perplexity.toFixed(2)}** |
| size | \`model.safetensors\` ${(f.weightsBytes / 1e6).toFixed(1)} MB (float32) |

**What to expect.** The budget (about ${(seen / f.trainSeqs).toFixed(1)} passes over a ${(f.trainTokens / 1e6).toFixed(2)} M-token corpus) leaves the model just past the
"unigram plateau" of MLM training: as a language model it mostly predicts frequent tokens. Its encoder is still a
useful frozen base for adapters on simple tasks (see the repository README's results), and a realistic, small
stand-in for checking the library end to end. For real work, use a pre-trained checkpoint such as
\`bert-base-uncased\` (\`adapterkit … --model org/name\`).

Held-out loss during training:

| ${f.phases.length > 1 ? 'phase | ' : ''}step | MLM loss | perplexity |
| ${f.phases.length > 1 ? '---: | ' : ''}---: | ---: | ---: |
${history.join('\n')}

## Files

\`config.json\` (transformers' \`BertConfig\`), \`model.safetensors\` (\`bert.embeddings.*\`, \`bert.encoder.layer.<i>.*\`,
\`cls.predictions.transform.*\` and \`cls.predictions.bias\`, as transformers saves a \`BertForMaskedLM\`; the tied decoder
weight is not stored), \`tokenizer.json\`, \`vocab.txt\`, \`tokenizer_config.json\`, \`special_tokens_map.json\`, and
\`pretraining.json\` (the record of the pre-training phases this card is generated from).

Checked with transformers 5.17 (PyTorch) after phase 1 (every phase writes the same keys and tokenizer files):
\`BertForMaskedLM.from_pretrained\` loads the folder with no missing or unexpected keys, \`AutoTokenizer\` encodes like \`loadTokenizer\`, and the last hidden state and MLM logits match
AdapterKit's within 2e-6 and 6e-6.

## Reproduce

From the repository root (deterministic for the seeds; about ${Math.round(seconds / 60)} minutes on the machine above):

\`\`\`sh
${f.phases.map((p) => p.command).join('\n')}
\`\`\`

The recipe is \`scripts/pretrain-embedded.ts\`.
`;
}

await main();
