import { rm, rmdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ADAPTER_WEIGHTS_BIN, ADAPTER_WEIGHTS_FILE, adapterHubGapsOf, WEIGHTS_FORMATS, weightsFileReaders, writeFileAtomic, type AdapterModel } from '@adapterkit/core';
import { LabelMap, saveTokenizer, type TextExample } from '@adapterkit/data';
import { trainDataParallel } from '@adapterkit/data-parallel';
import { collectTrainable, evaluate, HEAD_WEIGHTS_BIN, HEAD_WEIGHTS_FILE, listCheckpoints, saveAdapterWithHead, saveHead, train, TrainingInterruptedError, type Example, type TrainOptions, type TrainResult } from '@adapterkit/training';
import type { Args } from '../cli/args';
import type { CommandSpec } from '../cli/command';
import { CheckpointExistsError, CliError, InterruptedError } from '../cli/errors';
import { COLUMN_OPTIONS, ensureDev, isLabelled, loadSplits, TASKS, type Splits, type TaggedExample, type Task } from '../runtime/datasets';
import { encodeExamples } from '../runtime/encode';
import { fileSize, formatBytes } from '../runtime/files';
import { addTaskHead } from '../runtime/heads';
import { hostOf, maxLengthFor } from '../runtime/limits';
import { loadModel } from '../runtime/load';
import { writeModelDir } from '../runtime/model-files';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';
import { formatDuration, formatMetrics, Progress } from '../runtime/progress';
import { resolveTokenizer } from '../runtime/tokenizer';
import type { ReplicaOptions } from '../runtime/replica';
import { chooseHyper, type GivenHyper } from '../runtime/train-defaults';
import { parseWorkers, planWorkers, replicaModule } from '../runtime/workers';

/** Hyper-parameters read (and checked) before anything heavy starts; undefined = not given (defaulted later). */
interface Hyper {
  readonly task: Task;
  readonly config: string;
  readonly full: boolean;
  readonly given: GivenHyper;
  readonly batchSize: number;
  readonly seed: number;
  readonly weightDecay: number;
  readonly checkpoint: Checkpointing;
  /** `--workers`: data-parallel worker threads, or `auto`. */
  readonly workers: number | 'auto';
}

/** Where checkpoints go, how often, and what to do with those of an earlier run. */
interface Checkpointing {
  readonly dir: string;
  readonly every: number;
  readonly resume: boolean;
  readonly overwrite: boolean;
}

function readHyper(args: Args, cwd: string, out: string): Hyper {
  const full = args.flag('full');
  if (full && args.has('config')) throw new CliError('--full trains the whole model: it takes no --config');
  const epochs = args.int('epochs', undefined);
  const maxSteps = args.int('max-steps', undefined);
  const warmup = readWarmup(args);
  return {
    task: args.choice('task', TASKS, 'classification'),
    config: args.string('config') ?? 'pfeiffer',
    full,
    given: {
      ...(args.has('lr') ? { lr: args.number('lr', 0) } : {}),
      ...(epochs !== undefined ? { epochs } : {}),
      ...(maxSteps !== undefined ? { maxSteps } : {}),
      ...(warmup ? { warmup } : {}),
    },
    batchSize: args.int('batch-size', 16),
    seed: args.int('seed', 42, 0),
    weightDecay: args.number('weight-decay', 0, true),
    checkpoint: readCheckpointing(args, cwd, out),
    workers: parseWorkers(args.string('workers')),
  };
}

function readCheckpointing(args: Args, cwd: string, out: string): Checkpointing {
  const dir = args.string('checkpoint-dir');
  const overwrite = args.flag('overwrite') || args.flag('no-resume');
  if (overwrite && args.flag('resume')) throw new CliError(`give --resume or --${args.flag('overwrite') ? 'overwrite' : 'no-resume'}, not both`);
  return {
    dir: dir === undefined ? join(out, CHECKPOINT_SUBDIR) : resolve(cwd, dir),
    every: args.int('checkpoint-every', DEFAULT_CHECKPOINT_EVERY),
    resume: args.flag('resume'),
    overwrite,
  };
}

function readWarmup(args: Args): GivenHyper['warmup'] {
  if (args.has('warmup-steps') && args.has('warmup-ratio')) throw new CliError('give --warmup-steps or --warmup-ratio, not both');
  if (args.has('warmup-steps')) return { steps: args.int('warmup-steps', 0, 0) };
  if (!args.has('warmup-ratio')) return undefined;
  const ratio = args.number('warmup-ratio', 0, true);
  if (ratio >= 1) throw new CliError(`--warmup-ratio must be below 1 (a fraction of the training steps), got ${ratio}`);
  return { ratio };
}

/**
 * The checkpoint to resume from (`--resume`), after checking what the checkpoint folder holds: a checkpoint of an
 * earlier run without `--resume` is refused ({@link CheckpointExistsError}); `--overwrite` removes the earlier
 * checkpoints (the user asked for it; nothing else ever deletes a checkpoint this run did not write).
 */
async function checkpointToResume(c: Checkpointing, note: (m: string) => void): Promise<string | undefined> {
  const existing = await listCheckpoints(c.dir);
  if (c.resume) {
    if (existing.length === 0) throw new CliError(`--resume: no checkpoint-<step> folder in ${c.dir} to resume from`, 'NO_CHECKPOINT');
    return existing.at(-1);
  }
  if (existing.length > 0 && !c.overwrite) throw new CheckpointExistsError(existing.at(-1)!);
  for (const old of existing) {
    await rm(old, { recursive: true, force: true });
    note(`--overwrite: removed the earlier checkpoint ${old}`);
  }
  return undefined;
}

/** The adapter/head name: `--name`, else the embedded dataset's name, else the task's (`classification`, `masked_lm`, …). */
export function defaultAdapterName(args: Args, task: Task): string {
  return SAFE_NAME(args.string('name') ?? args.string('dataset') ?? task);
}

/** Mean of the losses of the last epoch's steps (at most `stepsPerEpoch` of the last steps), and how many. */
function finalLoss(losses: readonly number[], stepsPerEpoch: number): { mean: number; steps: number } {
  const window = losses.slice(-Math.max(1, stepsPerEpoch));
  return { mean: window.reduce((a, b) => a + b, 0) / Math.max(1, window.length), steps: window.length };
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

/**
 * Whether the adapter is saved for AdapterKit only: a config the AdapterHub libraries would load as a different
 * model (core's `adapterHubGapsOf`) is refused before training unless `--adapterkit-only` is given.
 */
function checkAdapterHubLoadable(model: AdapterModel, name: string, config: string, optIn: boolean, note: (m: string) => void): boolean {
  const gaps = adapterHubGapsOf(model, name);
  if (gaps.length === 0) return false;
  if (!optIn) {
    throw new CliError(
      `--config ${config}: adapter-transformers 3.2.1 and adapters 1.1 would load the saved adapter as a different model (${gaps.join('; ')}); ` +
        'give --adapterkit-only to train it and save it for AdapterKit only (Python loads such an adapter through PEFT: @adapterkit/lora exportPeftAdapter)',
      'NOT_ADAPTERHUB_LOADABLE',
    );
  }
  note(`--adapterkit-only: the saved adapter is for AdapterKit only (${gaps.length} setting${gaps.length > 1 ? 's' : ''} the AdapterHub libraries lack)`);
  return true;
}

const SAFE_NAME = (s: string): string => s.replace(/[^\w+-]+/g, '_');

/** Optimizer steps between two checkpoints without `--checkpoint-every` (Ctrl-C also writes one). */
const DEFAULT_CHECKPOINT_EVERY = 100;
/** Checkpoints go to `<--out>/checkpoints` without `--checkpoint-dir`. */
export const CHECKPOINT_SUBDIR = 'checkpoints';

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
    'Defaults chosen per method and dataset size (printed as a note; a flag given replaces them): peak learning rate',
    '3e-3 for adapters (prompt tuning 1e-2, --full 1e-4); as many epochs as give a small dataset 150 steps (3 to 10',
    'epochs); a linear warm-up over 10 % of the steps, then linear decay.',
    '',
    'A checkpoint (trainable weights, optimizer state, step, data position, random state) is written atomically to',
    '--out/checkpoints (or --checkpoint-dir) every --checkpoint-every steps and when Ctrl-C stops the run; the newest is',
    'kept and removed once the run completes. The same command with --resume continues from it and ends with the same',
    'weights as an uninterrupted run. A checkpoint of an earlier run is never overwritten silently: without --resume',
    'or --overwrite the command refuses to start.',
    '',
    'Workers: with --workers N (N > 1) every step\'s batch is split across N worker threads, each with its own backend',
    'instance (1 thread) and a copy of the model; their gradients are averaged and the update applied once. --workers',
    'auto (the default) does this where it measured faster than the backend\'s own threads (wasm and native, on 2+',
    'threads and cores, batches of at least 4 examples per worker; not cpu or GPU backends) and prints the choice;',
    '--workers 1 trains in one process.',
    'Checkpoints, --resume, Ctrl-C and evaluation work the same; resume with the same --workers to get the same weights.',
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
    name: { type: 'string', value: 'NAME', description: 'adapter/head name (default: the embedded dataset, else the task: classification, tagging, masked_lm, causal_lm)' },
    tokenizer: { type: 'string', value: 'PATH', description: 'tokenizer.json, vocab.txt or a folder with one' },
    epochs: { type: 'string', value: 'N', description: 'passes over the training data', default: '3-10: at least 150 steps' },
    'max-steps': { type: 'string', value: 'N', description: 'stop after N optimizer steps (overrides --epochs)' },
    lr: { type: 'string', value: 'RATE', description: 'peak learning rate (linear decay)', default: '3e-3; prompt tuning 1e-2; --full 1e-4' },
    'batch-size': { type: 'string', value: 'N', description: 'examples per step', default: '16' },
    'max-length': { type: 'string', value: 'N', description: 'truncate inputs to N tokens', default: "128 or the model's limit" },
    'warmup-steps': { type: 'string', value: 'N', description: 'linear warm-up steps (instead of --warmup-ratio)' },
    'warmup-ratio': { type: 'string', value: 'R', description: 'warm-up as a fraction of the training steps', default: '0.1' },
    'weight-decay': { type: 'string', value: 'W', description: 'AdamW weight decay', default: '0' },
    seed: { type: 'string', value: 'N', description: 'seed of initialisation, data order, dropout and splits', default: '42' },
    full: { type: 'boolean', description: 'full fine-tuning (every weight; the baseline adapters are compared with)' },
    format: { type: 'string', value: WEIGHTS_FORMATS.join('|'), description: 'weights file(s) of the adapter and head: bin is what adapter-transformers 3.x reads', default: 'safetensors' },
    'checkpoint-dir': { type: 'string', value: 'DIR', description: 'write checkpoints there (the newest one kept)', default: '--out/checkpoints' },
    'checkpoint-every': { type: 'string', value: 'N', description: 'optimizer steps between checkpoints', default: String(DEFAULT_CHECKPOINT_EVERY) },
    resume: { type: 'boolean', description: 'continue from the newest checkpoint (same command otherwise)' },
    overwrite: { type: 'boolean', description: 'start over even though a checkpoint of an earlier run exists (removes it)' },
    'no-resume': { type: 'boolean', description: 'same as --overwrite' },
    'adapterkit-only': {
      type: 'boolean',
      description: "train and save a config the AdapterHub libraries lack (LoRA use_dora, use_rslora, extra_modules): the files are for AdapterKit only (adapter-transformers / adapters would load them as a different model)",
    },
    workers: { type: 'string', value: 'N|auto', description: 'data-parallel worker threads (1: one process; auto: the faster mode for the backend)', default: 'auto' },
  },
  examples: [
    'adapterkit train --model embedded --dataset spam --out out/spam',
    "adapterkit train --model models/bert --config 'lora[r=8,alpha=16]' --train data/train.csv --dev data/dev.csv --out out/sst2 --epochs 5",
    'adapterkit train --model models/bert --task tagging --train ner.jsonl --text-column tokens --label-column tags --out out/ner',
    'adapterkit train --model gpt2-dir --task causal-lm --train corpus.txt --out out/lm --max-length 64',
    'adapterkit train --model embedded --dataset langid --full --out out/langid-full',
    'adapterkit train --model embedded --dataset spam --out out/spam --resume',
  ],
  async run(args, ctx) {
    const out = resolve(ctx.io.cwd, args.required('out', 'DIR'));
    const h = readHyper(args, ctx.io.cwd, out);
    const format = args.choice('format', WEIGHTS_FORMATS, 'safetensors');
    if (!args.has('dataset') && !args.has('train')) throw new CliError("missing --dataset NAME or --train FILE (see 'adapterkit train --help')");
    const resumeFrom = await checkpointToResume(h.checkpoint, (m) => ctx.note(m));
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx, { seed: h.seed });
    const host = hostOf(model);
    const maxLength = maxLengthFor(args, model);

    const name = defaultAdapterName(args, h.task);
    if (!h.full) model.addAdapter(name, h.config);
    const adapterKitOnly = !h.full && checkAdapterHubLoadable(model, name, h.config, args.flag('adapterkit-only'), (m) => ctx.note(m));
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

    const hp = chooseHyper(h.full ? 'full' : h.config, trainData.length, h.batchSize, h.given);
    const { steps, warmupSteps } = hp;
    if (hp.defaulted.length) ctx.note(`defaults for this run: ${hp.defaulted.join(', ')}; give the flags to change them`);
    ctx.note(
      `training ${h.full ? 'the whole model' : `adapter '${name}' (${h.config})`} on ${trainData.length} examples` +
        `${devData ? ` (dev ${devData.length})` : ''}: ${steps} steps of ${h.batchSize}, lr ${hp.lr} (${warmupSteps} warm-up steps, then linear decay)`,
    );
    const backend = await ctx.ensureBackend();
    const plan = planWorkers(h.workers, backend, h.batchSize);
    ctx.note(plan.note);
    if (resumeFrom) ctx.note(`resuming from ${resumeFrom}`);
    const progress = new Progress(ctx.io.stderr, 'train', steps);
    const losses: number[] = [];
    const written: string[] = [];
    const stop = new AbortController();
    const quit = (): never => process.exit(130);
    const onSigint = (): void => {
      stop.abort();
      progress.log('adapterkit: Ctrl-C: stopping after the current step and saving a checkpoint (Ctrl-C again quits without saving)');
      process.once('SIGINT', quit);
    };
    process.once('SIGINT', onSigint);
    let result: TrainResult;
    try {
      const options: Omit<TrainOptions, 'mode' | 'adapter'> & { mode: 'full' | 'adapter'; adapter?: string } = {
        mode: h.full ? 'full' : 'adapter',
        ...(h.full ? {} : { adapter: name }),
        head: name,
        trainData,
        ...(devData ? { evalData: devData } : {}),
        batchSize: h.batchSize,
        epochs: hp.epochs,
        ...(hp.maxSteps !== undefined ? { maxSteps: hp.maxSteps } : {}),
        lr: hp.lr,
        warmupSteps,
        weightDecay: h.weightDecay,
        seed: h.seed,
        padTokenId,
        checkpointDir: h.checkpoint.dir,
        checkpointEvery: h.checkpoint.every,
        keepCheckpoints: 1,
        signal: stop.signal,
        ...(resumeFrom ? { resumeFrom } : {}),
        onProgress: (e) => {
          if (e.type === 'step') {
            losses.push(e.loss);
            progress.update(e);
          } else if (e.type === 'eval') progress.log(`eval  step ${e.step} (epoch ${e.epoch}): ${formatMetrics(e.metrics)}`);
          else if (e.type === 'checkpoint') written.push(e.dir);
        },
      };
      if (plan.workers > 1) {
        const replica: ReplicaOptions = { modelDir: resolve(source.dir), seed: h.seed, name, task: h.task, ...(h.full ? {} : { config: h.config }), ...(labels ? { labels: labels.names } : {}) };
        result = await trainDataParallel(model, { ...options, workers: plan.workers, threadsPerWorker: 1, backend: backend.name, replica: { module: replicaModule(), options: replica } });
      } else result = await train(model, options);
    } catch (err) {
      progress.done();
      if (err instanceof TrainingInterruptedError) {
        throw new InterruptedError(
          `interrupted after step ${err.step} of ${err.totalSteps}; checkpoint saved in ${err.checkpoint ?? h.checkpoint.dir}. ` +
            'To continue, run the same command with --resume',
        );
      }
      throw err;
    } finally {
      process.removeListener('SIGINT', onSigint);
      process.removeListener('SIGINT', quit);
    }
    const seconds = progress.done();
    // the run is complete and is saved below: its own checkpoints (and the one it resumed from) are no longer needed
    for (const dir of new Set([...written, ...(resumeFrom ? [resumeFrom] : [])])) await rm(dir, { recursive: true, force: true });
    await rmdir(h.checkpoint.dir).catch(() => undefined); // only when empty

    const stepsPerEpoch = Math.ceil(trainData.length / h.batchSize);
    const loss = finalLoss(losses, stepsPerEpoch);
    const finalSet = testData ? 'test' : devData ? 'dev' : 'train';
    const finalData = testData ?? devData ?? trainData;
    const metrics = await evaluate(model, finalData, { head: name, batchSize: h.batchSize, padTokenId });
    const over = loss.steps === stepsPerEpoch ? `the last epoch's ${loss.steps} steps` : `the last ${loss.steps} steps`;
    ctx.out(
      `trained ${result.step} steps in ${formatDuration(seconds)}; ` +
        (loss.steps > 0 ? `final loss ${loss.mean.toFixed(4)} (training loss, mean over ${over})` : 'no step left to run (the checkpoint was at the last step)'),
    );
    ctx.out(`${finalSet} (${finalData.length} examples): ${formatMetrics(metrics)}`);
    ctx.out(describeTrainable(model, h.full ? 'the whole model' : `adapter '${name}'`));

    if (h.full) {
      await writeModelDir(out, host.config.raw, host.exportWeights());
      await saveHead(model, out, name, { format });
    } else {
      await saveAdapterWithHead(model, out, name, { format, adapterKitOnly });
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
          ...(loss.steps > 0 ? { final_train_loss: loss.mean } : {}),
          epochs: result.epoch,
          seconds: Number(seconds.toFixed(1)),
          hyperparameters: { lr: hp.lr, epochs: hp.epochs, ...(hp.maxSteps !== undefined ? { max_steps: hp.maxSteps } : {}), batch_size: h.batchSize, max_length: maxLength, seed: h.seed, warmup_steps: warmupSteps, weight_decay: h.weightDecay, workers: plan.workers },
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

