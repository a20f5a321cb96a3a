import { join, resolve } from 'node:path';
import { ADAPTER_WEIGHTS_BIN, ADAPTER_WEIGHTS_FILE, WEIGHTS_FORMATS, weightsFileReaders, writeFileAtomic, type AdapterModel } from '@adapterkit/core';
import { LabelMap, saveTokenizer, type TextExample } from '@adapterkit/data';
import { collectTrainable, evaluate, HEAD_WEIGHTS_BIN, HEAD_WEIGHTS_FILE, listCheckpoints, saveAdapterWithHead, saveHead, train, type Example } from '@adapterkit/training';
import type { Args } from '../cli/args';
import type { CommandSpec } from '../cli/command';
import { CliError } from '../cli/errors';
import { COLUMN_OPTIONS, ensureDev, isLabelled, loadSplits, stemName, TASKS, type Splits, type TaggedExample, type Task } from '../runtime/datasets';
import { encodeExamples } from '../runtime/encode';
import { fileSize, formatBytes } from '../runtime/files';
import { addTaskHead } from '../runtime/heads';
import { hostOf, maxLengthFor } from '../runtime/limits';
import { loadModel } from '../runtime/load';
import { writeModelDir } from '../runtime/model-files';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';
import { formatDuration, formatMetrics, Progress } from '../runtime/progress';
import { resolveTokenizer } from '../runtime/tokenizer';

/** Hyper-parameters read (and checked) before anything heavy starts. */
interface Hyper {
  readonly task: Task;
  readonly config: string;
  readonly full: boolean;
  readonly epochs: number;
  readonly maxSteps: number | undefined;
  readonly lr: number;
  readonly batchSize: number;
  readonly seed: number;
  /** Warm-up: a number of steps, or a fraction of the total steps. */
  readonly warmup: { readonly steps: number } | { readonly ratio: number };
  readonly weightDecay: number;
  /** `--checkpoint-dir`: where checkpoints go, how often, and whether to resume from the newest one. */
  readonly checkpoint: { readonly dir: string; readonly every: number; readonly resume: boolean } | undefined;
}

function readHyper(args: Args, cwd: string): Hyper {
  const full = args.flag('full');
  if (full && args.has('config')) throw new CliError('--full trains the whole model: it takes no --config');
  return {
    task: args.choice('task', TASKS, 'classification'),
    config: args.string('config') ?? 'pfeiffer',
    full,
    epochs: args.int('epochs', 3),
    maxSteps: args.int('max-steps', undefined),
    lr: args.number('lr', full ? 2e-5 : 1e-4),
    batchSize: args.int('batch-size', 16),
    seed: args.int('seed', 42, 0),
    warmup: readWarmup(args),
    weightDecay: args.number('weight-decay', 0, true),
    checkpoint: readCheckpointing(args, cwd),
  };
}

function readCheckpointing(args: Args, cwd: string): Hyper['checkpoint'] {
  const dir = args.string('checkpoint-dir');
  if (dir === undefined) {
    const given = ['checkpoint-every', 'resume'].find((f) => args.has(f));
    if (given) throw new CliError(`--${given} needs --checkpoint-dir DIR`);
    return undefined;
  }
  return { dir: resolve(cwd, dir), every: args.int('checkpoint-every', DEFAULT_CHECKPOINT_EVERY), resume: args.flag('resume') };
}

function readWarmup(args: Args): Hyper['warmup'] {
  if (args.has('warmup-steps') && args.has('warmup-ratio')) throw new CliError('give --warmup-steps or --warmup-ratio, not both');
  if (!args.has('warmup-ratio')) return { steps: args.int('warmup-steps', 0, 0) };
  const ratio = args.number('warmup-ratio', 0, true);
  if (ratio >= 1) throw new CliError(`--warmup-ratio must be below 1 (a fraction of the training steps), got ${ratio}`);
  return { ratio };
}

/** Label names of a classification/tagging task: the dataset's, else every label seen, sorted. */
function taskLabels(task: Task, splits: Splits): LabelMap | undefined {
  if (!isLabelled(task)) return undefined;
  if (splits.labels) return splits.labels;
  const rows = [...(splits.train ?? []), ...(splits.dev ?? []), ...(splits.test ?? [])];
  const seen =
    task === 'tagging'
      ? (rows as TaggedExample[]).flatMap((r) => r.tags)
      : (rows as TextExample[]).map((r, i) => {
          if (r.label === undefined) throw new CliError(`example ${i} has no label`);
          return r.label;
        });
  const labels = LabelMap.fromLabels(seen);
  if (labels.size < 2) throw new CliError(`the data has a single label (${JSON.stringify(labels.names[0])}): nothing to learn`);
  return labels;
}

/** `trainable parameters: 330,000 = adapter 'spam' 263,680 + head 66,306 (6.3 % of the model's 5,240,832)` */
function describeTrainable(model: AdapterModel, what: string): string {
  const trained = collectTrainable(model);
  const count = (heads: boolean): number => trained.filter((p) => p.key.startsWith('heads.') === heads).reduce((n, p) => n + p.variable.size, 0);
  const base = model.info.numParameters;
  const [method, head] = [count(false), count(true)];
  const fmt = (n: number): string => n.toLocaleString('en-US');
  return `trainable parameters: ${fmt(method + head)} = ${what} ${fmt(method)} + head ${fmt(head)} (${((100 * (method + head)) / base).toFixed(2)} % of the model's ${fmt(base)})`;
}

const SAFE_NAME = (s: string): string => s.replace(/[^\w+-]+/g, '_');

/** Optimizer steps between two checkpoints when `--checkpoint-dir` is given without `--checkpoint-every`. */
const DEFAULT_CHECKPOINT_EVERY = 100;

/** `adapterkit train`: train an adapter (or the whole model) and a head on a dataset. */
export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train an adapter (or, with --full, the whole model) and a prediction head on a dataset',
  usage: [
    '--model DIR|HUB_ID|embedded --dataset NAME --out DIR [options]',
    '--model DIR|HUB_ID|embedded --train FILE [--dev FILE] [--test FILE] --out DIR [options]',
  ],
  details: [
    'Data: an embedded dataset (--dataset spam | langid, with train/dev/test splits) or files: .csv/.tsv with a',
    'header row, .jsonl with one object per line (.txt lines for the LM tasks). Tagging data holds words and tags as',
    'lists (JSONL) or space-separated strings. Without --dev, 10 % of the training data is held out. The tokenizer is',
    "the model folder's (tokenizer.json or vocab.txt) unless --tokenizer is given.",
    '',
    'Writes to --out: the adapter and its head in the AdapterHub layout (adapter_config.json, adapter.safetensors,',
    'head_config.json, model_head.safetensors), the tokenizer files and train_results.json; with --full a whole model',
    'folder (config.json, model.safetensors) plus the head. Progress goes to stderr; the final evaluation (on --test,',
    'else the dev data) and the file sizes to stdout.',
    '',
    'With --checkpoint-dir, a checkpoint (trainable weights, optimizer state, step, data position, random state) is',
    'written there atomically every --checkpoint-every steps; the newest is kept. If the run is killed, the same',
    'command with --resume continues from it and ends with the same weights as an uninterrupted run.',
  ],
  options: {
    ...MODEL_OPTIONS,
    config: { type: 'string', value: 'CONFIG', description: "adapter config string, e.g. 'pfeiffer[reduction_factor=8]', 'lora[r=8]', 'prefix_tuning'", default: 'pfeiffer' },
    task: { type: 'string', value: TASKS.join('|'), description: 'task and head', default: 'classification' },
    dataset: { type: 'string', value: 'NAME', description: 'embedded dataset: spam, langid' },
    train: { type: 'string', value: 'FILE', description: 'training data (.csv, .tsv, .jsonl; .txt for LM tasks)' },
    dev: { type: 'string', value: 'FILE', description: 'evaluation data used during training' },
    test: { type: 'string', value: 'FILE', description: 'held-out data for the final evaluation' },
    ...COLUMN_OPTIONS,
    out: { type: 'string', value: 'DIR', description: 'output folder' },
    name: { type: 'string', value: 'NAME', description: 'adapter/head name (default: the dataset or training file name)' },
    tokenizer: { type: 'string', value: 'PATH', description: 'tokenizer.json, vocab.txt or a folder with one' },
    epochs: { type: 'string', value: 'N', description: 'passes over the training data', default: '3' },
    'max-steps': { type: 'string', value: 'N', description: 'stop after N optimizer steps (overrides --epochs)' },
    lr: { type: 'string', value: 'RATE', description: 'peak learning rate (linear decay)', default: '1e-4; --full 2e-5' },
    'batch-size': { type: 'string', value: 'N', description: 'examples per step', default: '16' },
    'max-length': { type: 'string', value: 'N', description: 'truncate inputs to N tokens', default: "128 or the model's limit" },
    'warmup-steps': { type: 'string', value: 'N', description: 'linear warm-up steps', default: '0' },
    'warmup-ratio': { type: 'string', value: 'R', description: 'warm-up as a fraction of the training steps (instead of --warmup-steps)' },
    'weight-decay': { type: 'string', value: 'W', description: 'AdamW weight decay', default: '0' },
    seed: { type: 'string', value: 'N', description: 'seed of initialisation, data order, dropout and splits', default: '42' },
    full: { type: 'boolean', description: 'full fine-tuning (every weight; the baseline adapters are compared with)' },
    format: { type: 'string', value: WEIGHTS_FORMATS.join('|'), description: 'weights file(s) of the adapter and head: bin is what adapter-transformers 3.x reads', default: 'safetensors' },
    'checkpoint-dir': { type: 'string', value: 'DIR', description: 'write checkpoints there (the newest one kept)' },
    'checkpoint-every': { type: 'string', value: 'N', description: 'optimizer steps between checkpoints', default: String(DEFAULT_CHECKPOINT_EVERY) },
    resume: { type: 'boolean', description: 'continue from the newest checkpoint in --checkpoint-dir (same command otherwise)' },
  },
  examples: [
    'adapterkit train --model embedded --dataset spam --out out/spam',
    "adapterkit train --model models/bert --config 'lora[r=8,alpha=16]' --train data/train.csv --dev data/dev.csv --out out/sst2 --epochs 5",
    'adapterkit train --model models/bert --task tagging --train ner.jsonl --text-column tokens --label-column tags --out out/ner',
    'adapterkit train --model gpt2-dir --task causal-lm --train corpus.txt --out out/lm --max-length 64',
    'adapterkit train --model embedded --dataset langid --full --out out/langid-full',
    'adapterkit train --model embedded --dataset spam --out out/spam --checkpoint-dir out/spam-ck --resume',
  ],
  async run(args, ctx) {
    const h = readHyper(args, ctx.io.cwd);
    const out = resolve(ctx.io.cwd, args.required('out', 'DIR'));
    const format = args.choice('format', WEIGHTS_FORMATS, 'safetensors');
    if (!args.has('dataset') && !args.has('train')) throw new CliError("missing --dataset NAME or --train FILE (see 'adapterkit train --help')");
    const resumeFrom = h.checkpoint?.resume ? (await listCheckpoints(h.checkpoint.dir)).at(-1) : undefined;
    if (h.checkpoint?.resume && !resumeFrom) throw new CliError(`--resume: no checkpoint-<step> folder in ${h.checkpoint.dir} to resume from`);
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx, { seed: h.seed });
    const host = hostOf(model);
    const maxLength = maxLengthFor(args, model);

    const name = SAFE_NAME(args.string('name') ?? args.string('dataset') ?? stemName(args.string('train')!));
    if (!h.full) model.addAdapter(name, h.config);
    const { tokenizer } = await resolveTokenizer(ctx, args.string('tokenizer'), [source.dir], model.info.vocabSize);
    const splits = ensureDev(await loadSplits(args, ctx, h.task, true), h.task, h.seed, (m) => ctx.note(m));
    const labels = taskLabels(h.task, splits);
    addTaskHead(model, name, h.task, labels, h.seed);

    const enc = (rows: Splits['train'], seed: number): Example[] | undefined =>
      rows && encodeExamples(h.task, tokenizer, rows, { maxLength, seed, tokenTypes: host.config.typeVocabSize > 0, ...(labels ? { labels } : {}) });
    const trainData = enc(splits.train, h.seed)!;
    const devData = enc(splits.dev, h.seed + 1);
    const testData = enc(splits.test, h.seed + 2);
    const padTokenId = tokenizer.padTokenId ?? host.config.padTokenId ?? 0;

    const steps = h.maxSteps ?? h.epochs * Math.ceil(trainData.length / h.batchSize);
    const warmupSteps = 'steps' in h.warmup ? h.warmup.steps : Math.round(h.warmup.ratio * steps);
    ctx.note(
      `training ${h.full ? 'the whole model' : `adapter '${name}' (${h.config})`} on ${trainData.length} examples` +
        `${devData ? ` (dev ${devData.length})` : ''}: ${steps} steps of ${h.batchSize}, lr ${h.lr} (${warmupSteps} warm-up steps, then linear decay)`,
    );
    if (resumeFrom) ctx.note(`resuming from ${resumeFrom}`);
    const progress = new Progress(ctx.io.stderr, 'train', steps);
    const result = await train(model, {
      mode: h.full ? 'full' : 'adapter',
      ...(h.full ? {} : { adapter: name }),
      head: name,
      trainData,
      ...(devData ? { evalData: devData } : {}),
      batchSize: h.batchSize,
      epochs: h.epochs,
      ...(h.maxSteps !== undefined ? { maxSteps: h.maxSteps } : {}),
      lr: h.lr,
      warmupSteps,
      weightDecay: h.weightDecay,
      seed: h.seed,
      padTokenId,
      ...(h.checkpoint ? { checkpointDir: h.checkpoint.dir, checkpointEvery: h.checkpoint.every, keepCheckpoints: 1 } : {}),
      ...(resumeFrom ? { resumeFrom } : {}),
      onProgress: (e) => {
        if (e.type === 'step') progress.update(e);
        else if (e.type === 'eval') progress.log(`eval  step ${e.step} (epoch ${e.epoch}): ${formatMetrics(e.metrics)}`);
      },
    });
    const seconds = progress.done();

    const finalSet = testData ? 'test' : devData ? 'dev' : 'train';
    const finalData = testData ?? devData ?? trainData;
    const metrics = await evaluate(model, finalData, { head: name, batchSize: h.batchSize, padTokenId });
    ctx.out(`trained ${result.step} steps in ${formatDuration(seconds)}; final loss ${result.lastLoss.toFixed(4)}`);
    ctx.out(`${finalSet} (${finalData.length} examples): ${formatMetrics(metrics)}`);
    ctx.out(describeTrainable(model, h.full ? 'the whole model' : `adapter '${name}'`));

    if (h.full) {
      await writeModelDir(out, host.config.raw, host.exportWeights());
      await saveHead(model, out, name, { format });
    } else {
      await saveAdapterWithHead(model, out, name, { format });
    }
    await saveTokenizer(tokenizer, out);
    await writeFileAtomic(
      join(out, 'train_results.json'),
      `${JSON.stringify(
        {
          model: source.spec,
          data: args.string('dataset') ?? args.string('train'),
          task: h.task,
          config: h.full ? 'full' : h.config,
          name,
          steps: result.step,
          epochs: result.epoch,
          seconds: Number(seconds.toFixed(1)),
          hyperparameters: { lr: h.lr, batch_size: h.batchSize, max_length: maxLength, seed: h.seed, warmup_steps: warmupSteps, weight_decay: h.weightDecay },
          eval_history: result.history,
          final: { split: finalSet, examples: finalData.length, ...metrics },
          ...(labels ? { labels: labels.names } : {}),
        },
        null,
        2,
      )}\n`,
    );
    const modelBytes = fileSize(join(source.dir, 'model.safetensors'));
    const adapterFile = format === 'bin' ? ADAPTER_WEIGHTS_BIN : ADAPTER_WEIGHTS_FILE;
    const headFile = format === 'bin' ? HEAD_WEIGHTS_BIN : HEAD_WEIGHTS_FILE;
    const saved = fileSize(join(out, h.full ? 'model.safetensors' : adapterFile));
    const head = fileSize(join(out, headFile));
    const what = h.full ? 'model.safetensors' : adapterFile;
    ctx.out(
      `saved ${out}: ${what} ${formatBytes(saved)} + head ${formatBytes(head)}; base model.safetensors ${formatBytes(modelBytes)}` +
        ` (${what} = ${((100 * saved) / Math.max(1, modelBytes)).toFixed(1)} % of the base model)`,
    );
    const weightFiles = [...(h.full ? [] : format === 'both' ? [ADAPTER_WEIGHTS_FILE, ADAPTER_WEIGHTS_BIN] : [adapterFile]), ...(format === 'both' ? [HEAD_WEIGHTS_FILE, HEAD_WEIGHTS_BIN] : [headFile])];
    for (const f of weightFiles) ctx.out(`  ${f} opens in ${weightsFileReaders(f)}`);
  },
};

