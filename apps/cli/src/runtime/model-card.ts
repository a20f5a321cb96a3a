/**
 * The record of the pre-training phases of a model folder (`pretraining.json`) and the model card (`README.md`)
 * `adapterkit pretrain` generates from it.
 */
import type { Tokenizer } from '@adapterkit/data';

/** The file that records a model folder's pre-training phases. */
export const PRETRAINING_FILE = 'pretraining.json';

/** A held-out evaluation of a phase (step counted within the phase). */
export interface HeldOutRecord {
  readonly step: number;
  /** Mean cross-entropy over the masked held-out tokens, 4 decimals. */
  readonly loss: number;
  /** `exp(loss)`, 2 decimals. */
  readonly perplexity: number;
}

/** One pre-training run, as recorded in `pretraining.json`. */
export interface Phase {
  /** The command line that reproduces the phase. */
  readonly command: string;
  /** The folder the phase continued from (`--init`), or null for a model from scratch. */
  readonly init: string | null;
  readonly steps: number;
  readonly batchSize: number;
  readonly maxLength: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly seed: number;
  /** Masked copies of the training sequences. */
  readonly maskings: number;
  /** Wall time of the training and the held-out evaluations. */
  readonly seconds: number;
  readonly machine: string;
  readonly heldOut: readonly HeldOutRecord[];
}

/** `pretraining.json`'s text for the phases. */
export function pretrainingJson(phases: readonly Phase[]): string {
  return `${JSON.stringify({ phases }, null, 2)}\n`;
}

/** `12 min 5 s`. */
export function formatMinutes(seconds: number): string {
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/** What the card says about the corpus. */
export interface CardCorpus {
  /** What the model was trained on, for the first sentence (`the English corpus embedded in …`). */
  readonly about: string;
  /** The card's `corpus` row. */
  readonly row: string;
  /** One of the embedded (English, public-domain) corpora. */
  readonly embedded: boolean;
}

/** Architecture of the model, from its config. */
export interface CardShape {
  readonly layers: number;
  readonly hidden: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly maxLength: number;
  readonly typeVocabSize: number;
  /** `GELU`. */
  readonly activation: string;
  /** `hidden_dropout_prob`/`attention_probs_dropout_prob` of the config, e.g. `0.1`. */
  readonly dropout: string;
}

/** The measured facts a model card is generated from, besides the phases. */
export interface CardFacts {
  /** The model's name (its folder's name). */
  readonly name: string;
  /** The folder as the reader should pass it to `loadHost` (relative to where the commands ran). */
  readonly path: string;
  readonly corpus: CardCorpus;
  readonly shape: CardShape;
  /** Parameters of the encoder (no pooler, no MLM head). */
  readonly params: number;
  readonly vocabSize: number;
  /** `` `[PAD]`=0 `[UNK]`=1 … `` */
  readonly specialTokens: string;
  readonly passages: { readonly total: number; readonly train: number; readonly held: number };
  readonly chars: number;
  readonly trainSeqs: number;
  readonly trainTokens: number;
  readonly heldSeqs: number;
  readonly heldMasked: number;
  readonly weightsBytes: number;
  /** Every phase so far, the last one just run. */
  readonly phases: readonly Phase[];
  /** The folder also holds the MLM head in the AdapterHub layout. */
  readonly adapterHubHead: boolean;
  /**
   * The card of the repository's embedded base model (`packages/bert-mini/model`, written by
   * `pnpm pretrain:embedded`): adds its notes on the repository, the machine and the transformers check.
   */
  readonly embeddedModel: boolean;
}

/** The card's view of a BERT `config.json`. */
export function cardShapeOf(config: Readonly<Record<string, unknown>>): CardShape {
  const num = (k: string): number => config[k] as number;
  const [hd, ad] = [config['hidden_dropout_prob'], config['attention_probs_dropout_prob']];
  return {
    layers: num('num_hidden_layers'),
    hidden: num('hidden_size'),
    heads: num('num_attention_heads'),
    intermediate: num('intermediate_size'),
    maxLength: num('max_position_embeddings'),
    typeVocabSize: num('type_vocab_size'),
    activation: String(config['hidden_act']).toUpperCase(),
    dropout: hd === ad ? String(hd) : `${hd}/${ad}`,
  };
}

/** The special tokens of a tokenizer as the card lists them: `` `[PAD]`=0 `[UNK]`=1 `[CLS]`=2 `[SEP]`=3 `[MASK]`=4 ``. */
export function specialTokensText(tok: Tokenizer): string {
  return [tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId]
    .filter((id): id is number => id !== undefined)
    .map((id) => `\`${tok.idToToken(id)}\`=${id}`)
    .join(' ');
}

/** The first paragraph of the embedded model's card. */
const EMBEDDED_INTRO = `A small BERT pre-trained from scratch with masked language modelling by \`adapterkit pretrain\`, AdapterKit's own
training harness (TensorFlow.js, \`@adapterkit/training\`), run by \`pnpm pretrain:embedded\`, on the English corpus
embedded in \`@adapterkit/data\`. It is the default base model of the repository (\`pnpm start\`,
\`adapterkit … --model embedded\`): small enough to ship in git and to train adapters on a laptop CPU in minutes. It
is a demonstration model with a short pre-training budget, not a general-purpose language model.`;

/**
 * The model card (`README.md`, with Hugging Face metadata) of a pre-trained model folder: corpus, held-out split,
 * tokenizer, architecture, data, every phase's schedule and time, the final held-out MLM loss and perplexity, the
 * held-out loss during training, the files, and the commands that reproduce the model.
 */
export function modelCard(f: CardFacts): string {
  const s = f.shape;
  const last = f.phases[f.phases.length - 1]!;
  const final = last.heldOut[last.heldOut.length - 1]!;
  const steps = f.phases.reduce((n, p) => n + p.steps, 0);
  const seen = f.phases.reduce((n, p) => n + p.steps * p.batchSize, 0);
  const seconds = f.phases.reduce((n, p) => n + p.seconds, 0);
  const machines = [...new Set(f.phases.map((p) => p.machine))].join('; ');
  const many = f.phases.length > 1;
  const phaseRow = (p: Phase, i: number): string =>
    `${many ? `phase ${i + 1}${p.init ? ' (continued from phase ' + i + ')' : ''}: ` : ''}${p.steps} steps × batch ${p.batchSize} × ${p.maxLength} tokens, ` +
    `peak lr ${p.lr}, ${p.warmupSteps} warm-up steps then linear decay to 0, seed ${p.seed} (data order and masks), ${p.maskings} masking(s), ${formatMinutes(p.seconds)}`;
  let offset = 0;
  const history = f.phases.flatMap((p, i) => {
    const rows = p.heldOut.map((h) => `| ${many ? `${i + 1} | ` : ''}${offset + h.step} | ${h.loss.toFixed(4)} | ${h.perplexity.toFixed(2)} |`);
    offset += p.steps;
    return rows;
  });
  const passes = seen / f.trainSeqs;
  const intro = f.embeddedModel
    ? EMBEDDED_INTRO
    : `A small BERT pre-trained from scratch with masked language modelling by \`adapterkit pretrain\`, AdapterKit's own
training harness (TensorFlow.js, \`@adapterkit/training\`), on ${f.corpus.about}.`;
  const expect = f.embeddedModel
    ? `
**What to expect.** The budget (about ${passes.toFixed(1)} passes over a ${(f.trainTokens / 1e6).toFixed(2)} M-token corpus) leaves the model just past the
"unigram plateau" of MLM training: as a language model it mostly predicts frequent tokens. Its encoder is still a
useful frozen base for adapters on simple tasks (see the repository README's results), and a realistic, small
stand-in for checking the library end to end. For real work, use a pre-trained checkpoint such as
\`bert-base-uncased\` (\`adapterkit … --model org/name\`).
`
    : '';
  const checked = f.embeddedModel
    ? `
Checked with transformers 5.17 (PyTorch) after phase 1 (every phase writes the same keys and tokenizer files):
\`BertForMaskedLM.from_pretrained\` loads the folder with no missing or unexpected keys, \`AutoTokenizer\` encodes like \`loadTokenizer\`, and the last hidden state and MLM logits match
AdapterKit's within 2e-6 and 6e-6.
`
    : '';
  const headFiles = f.adapterHubHead
    ? `, the masked-LM head in the AdapterHub layout (\`head_config.json\`, \`model_head.safetensors\`) for
\`adapterkit predict --model ${f.path} '… [MASK] …'\``
    : '';
  const recipe = f.embeddedModel
    ? `The recipe is \`adapterkit pretrain\` (\`apps/cli/src/commands/pretrain.ts\`); \`pnpm pretrain:embedded\`
(\`scripts/pretrain-embedded.ts\`) builds the CLI and runs it with \`--corpus embedded:english\` and the flags above.`
    : `The recipe is \`adapterkit pretrain\` (see \`adapterkit pretrain --help\`).`;
  const metadata = f.corpus.embedded ? 'language: en\nlicense: apache-2.0\n' : '';
  return `---
${metadata}library_name: adapterkit
tags:
- bert
- fill-mask
- adapterkit
---

# ${f.name}

${intro}

Load it with \`loadHost('${f.path}')\` (\`@adapterkit/models\`) and
\`loadTokenizer('${f.path}')\` (\`@adapterkit/data\`), or in Python with
\`BertForMaskedLM.from_pretrained\` / \`AutoTokenizer.from_pretrained\` (transformers).

| | |
| --- | --- |
| corpus | ${f.corpus.row} |
| held out | ${f.passages.held} passages (5 %, seeded) never seen by the tokenizer or the model: ${f.heldSeqs} sequences, ${f.heldMasked} masked tokens (fixed masks) |
| tokenizer | WordPiece (uncased, BERT normalisation and pre-tokenisation) trained on the ${f.passages.train} training passages with \`trainWordPiece\`: ${f.vocabSize} tokens, ${f.specialTokens} |
| architecture | BERT (post-LN), ${s.layers} layers, hidden ${s.hidden}, ${s.heads} attention heads, FFN ${s.intermediate}, ${s.activation}, ${s.maxLength} positions, ${s.typeVocabSize} token types; ${f.params.toLocaleString('en-US')} parameters (+ ${(s.hidden * s.hidden + 3 * s.hidden + f.vocabSize).toLocaleString('en-US')} in the MLM head's transform and bias; the decoder is tied to the word embeddings); no pooler |
| data | the training passages' tokens concatenated and cut into ${f.trainSeqs} sequences of ${s.maxLength} tokens (${f.trainTokens.toLocaleString('en-US')} tokens); 15 % of the tokens selected for prediction (80 % \`[MASK]\`, 10 % random, 10 % kept), new masks for every pass over the data |
| training | ${steps} steps, ${seen.toLocaleString('en-US')} sequences ≈ ${passes.toFixed(2)} passes over the data. ${f.phases.map(phaseRow).join('. ')}. AdamW (β 0.9/0.999, ε 1e-8, weight decay 0.01, none on biases and LayerNorm), gradient clipping 1.0, no dropout during pre-training (\`hidden_dropout_prob\`/\`attention_probs_dropout_prob\` stay ${s.dropout} in the config for fine-tuning) |
| wall time | ${formatMinutes(seconds)} (training and the held-out evaluations) |
| machine | ${machines}${f.embeddedModel ? '; the 2 cores were shared with other jobs' : ''} |
| held-out MLM loss | **${final.loss.toFixed(4)}** (mean cross-entropy over the masked tokens of the held-out sequences) |
| held-out perplexity | **${final.perplexity.toFixed(2)}** |
| size | \`model.safetensors\` ${(f.weightsBytes / 1e6).toFixed(1)} MB (float32) |
${expect}
Held-out loss during training:

| ${many ? 'phase | ' : ''}step | MLM loss | perplexity |
| ${many ? '---: | ' : ''}---: | ---: | ---: |
${history.join('\n')}

## Files

\`config.json\` (transformers' \`BertConfig\`), \`model.safetensors\` (\`bert.embeddings.*\`, \`bert.encoder.layer.<i>.*\`,
\`cls.predictions.transform.*\` and \`cls.predictions.bias\`, as transformers saves a \`BertForMaskedLM\`; the tied decoder
weight is not stored), \`tokenizer.json\`, \`vocab.txt\`, \`tokenizer_config.json\`, \`special_tokens_map.json\`${headFiles}, and
\`pretraining.json\` (the record of the pre-training phases this card is generated from).
${checked}
## Reproduce

From ${f.embeddedModel ? 'the repository root' : 'the folder the commands ran in'} (deterministic for the seeds; about ${Math.max(1, Math.round(seconds / 60))} minutes on the machine above):

\`\`\`sh
${f.phases.map((p) => p.command).join('\n')}
\`\`\`

${recipe}
`;
}
