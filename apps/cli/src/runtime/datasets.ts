import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { suggestNearest } from '@adapterkit/core';
import { parseCsv, readCsv, readJsonl, readLines, splitDataset, type LabelMap, type TextExample } from '@adapterkit/data';
import { loadEmbeddedDataset, type EmbeddedDatasetName } from '@adapterkit/datasets';
import type { Args, OptionSpec } from '../cli/args';
import type { Context } from '../cli/command';
import { CliError } from '../cli/errors';

/** Training tasks and the heads they get. */
export const TASKS = ['classification', 'tagging', 'masked-lm', 'causal-lm'] as const;
export type Task = (typeof TASKS)[number];

/** Datasets of `@adapterkit/datasets` that `--dataset` names. */
export const EMBEDDED_DATASETS = ['spam', 'langid'] as const;

/** Whether a task learns from labels (vs. plain text). */
export const isLabelled = (task: Task): boolean => task === 'classification' || task === 'tagging';

/** A tagging example: words and one tag per word. */
export interface TaggedExample {
  readonly words: readonly string[];
  readonly tags: readonly string[];
}

/** Examples of one task. */
export type TaskExample = TextExample | TaggedExample;

/** Options naming the data and its columns, shared by `train` and `eval`. */
export const COLUMN_OPTIONS = {
  'text-column': { type: 'string', value: 'NAME', description: 'column/field of the text (default text; tagging: tokens)' },
  'text-pair-column': { type: 'string', value: 'NAME', description: 'column/field of the second text of a pair task' },
  'label-column': { type: 'string', value: 'NAME', description: 'column/field of the label (default label; tagging: tags)' },
} as const satisfies Record<string, OptionSpec>;

/** A loaded split set. */
export interface Splits {
  readonly train?: readonly TaskExample[];
  readonly dev?: readonly TaskExample[];
  readonly test?: readonly TaskExample[];
  /** Label names of an embedded dataset. */
  readonly labels?: LabelMap;
}

const TEXT_FORMATS = ['.csv', '.tsv', '.jsonl', '.json', '.ndjson'];

function checkFile(path: string, option: string, raw: string): void {
  if (!existsSync(path)) throw new CliError(`${option} ${raw}: no such file`);
  if (!statSync(path).isFile()) throw new CliError(`${option} ${raw}: not a file`);
}

function columns(args: Args, task: Task): { text: string; pair: string | undefined; label: string | null } {
  const tagging = task === 'tagging';
  return {
    text: args.string('text-column') ?? (tagging ? 'tokens' : 'text'),
    pair: args.string('text-pair-column'),
    label: isLabelled(task) ? (args.string('label-column') ?? (tagging ? 'tags' : 'label')) : null,
  };
}

/** Read text examples (`.csv`, `.tsv`, `.jsonl`; plain `.txt` lines for language modelling). */
async function readTextFile(path: string, option: string, raw: string, task: Task, args: Args): Promise<TextExample[]> {
  checkFile(path, option, raw);
  const c = columns(args, task);
  const ext = extname(path).toLowerCase();
  const opts = { textColumn: c.text, ...(c.pair ? { textPairColumn: c.pair } : {}), labelColumn: c.label };
  if (ext === '.csv' || ext === '.tsv') return (await readCsv(path, { ...opts, ...(ext === '.tsv' ? { delimiter: '\t' } : {}) })).toArray();
  if (ext === '.jsonl' || ext === '.json' || ext === '.ndjson') return (await readJsonl(path, opts)).toArray();
  if (ext === '.txt' && !isLabelled(task)) {
    const out: TextExample[] = [];
    for await (const { line } of readLines(path)) if (line.trim() !== '') out.push({ text: line });
    return out;
  }
  throw new CliError(`${option} ${raw}: unsupported format '${ext || basename(path)}' (use ${[...TEXT_FORMATS, ...(isLabelled(task) ? [] : ['.txt'])].join(', ')})`);
}

/** A list of words/tags: a JSON list of strings or a whitespace-separated string. */
function wordList(value: unknown, column: string, where: string): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter((w) => w.length > 0);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  throw new CliError(`${where}: '${column}' must be a list of strings or a space-separated string`);
}

/** Read tagging examples: JSONL with word and tag lists, or CSV/TSV with space-separated words and tags. */
async function readTaggedFile(path: string, option: string, raw: string, args: Args): Promise<TaggedExample[]> {
  checkFile(path, option, raw);
  const c = columns(args, 'tagging');
  const ext = extname(path).toLowerCase();
  const text = await readFile(path, 'utf8');
  const records: Array<{ get: (col: string) => unknown; keys: string[]; where: string }> = [];
  if (ext === '.jsonl' || ext === '.json' || ext === '.ndjson') {
    text.split(/\r?\n/).forEach((line, i) => {
      if (line.trim() === '') return;
      const where = `${path}:${i + 1}`;
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch (err) {
        throw new CliError(`${where}: invalid JSON (${(err as Error).message})`);
      }
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new CliError(`${where}: expected a JSON object`);
      const o = obj as Record<string, unknown>;
      records.push({ get: (col) => o[col], keys: Object.keys(o), where });
    });
  } else if (ext === '.csv' || ext === '.tsv') {
    const rows = parseCsv(text, { source: path, ...(ext === '.tsv' ? { delimiter: '\t' } : {}) });
    const header = rows[0]?.fields ?? [];
    for (const r of rows.slice(1)) records.push({ get: (col) => r.fields[header.indexOf(col)], keys: header, where: `${path}:${r.line}` });
  } else {
    throw new CliError(`${option} ${raw}: unsupported format for tagging '${ext || basename(path)}' (use .jsonl, .csv or .tsv)`);
  }
  return records.map((r) => {
    for (const col of [c.text, c.label!]) {
      if (!r.keys.includes(col)) throw new CliError(`${r.where}: no column '${col}' (available: ${r.keys.join(', ') || 'none'})`);
    }
    const words = wordList(r.get(c.text), c.text, r.where);
    const tags = wordList(r.get(c.label!), c.label!, r.where);
    if (words.length !== tags.length) throw new CliError(`${r.where}: ${words.length} words but ${tags.length} tags`);
    if (words.length === 0) throw new CliError(`${r.where}: no words`);
    return { words, tags };
  });
}

/** Read one data file for `task`. */
async function readTaskFile(ctx: Context, raw: string, option: string, task: Task, args: Args): Promise<TaskExample[]> {
  const path = resolve(ctx.io.cwd, raw);
  return task === 'tagging' ? readTaggedFile(path, option, raw, args) : readTextFile(path, option, raw, task, args);
}

/** A file-name stem usable as an adapter name (`data/sst2-train.csv` → `sst2_train`). */
export function stemName(path: string): string {
  return basename(path, extname(path)).replace(/[^\w-]+/g, '_') || 'adapter';
}

/**
 * The data named by `--dataset NAME` (an embedded dataset with its train/dev/test splits) or by
 * `--train/--dev/--test FILE` (the splits given; `needTrain` makes `--train` mandatory).
 */
export async function loadSplits(args: Args, ctx: Context, task: Task, needTrain: boolean): Promise<Splits> {
  const dataset = args.string('dataset');
  if (dataset !== undefined) {
    if (args.has('train')) throw new CliError('give either --dataset or --train, not both');
    if (task === 'tagging') throw new CliError(`--dataset ${dataset}: the embedded datasets are text classification data; tagging needs --train FILE`);
    if (!(EMBEDDED_DATASETS as readonly string[]).includes(dataset)) {
      const near = suggestNearest(dataset, EMBEDDED_DATASETS);
      throw new CliError(`--dataset ${dataset}: unknown embedded dataset${near ? ` (did you mean '${near}'?)` : ''}; available: ${EMBEDDED_DATASETS.join(', ')} (or pass --train FILE)`);
    }
    const d = await loadEmbeddedDataset(dataset as EmbeddedDatasetName);
    return { train: d.train.toArray(), dev: d.dev.toArray(), test: d.test.toArray(), labels: d.labels };
  }
  const train = args.string('train');
  if (train === undefined && needTrain) throw new CliError(`missing --dataset NAME or --train FILE (see 'adapterkit ${args.command} --help')`);
  const read = async (option: 'train' | 'dev' | 'test'): Promise<TaskExample[] | undefined> => {
    const raw = args.string(option);
    if (raw === undefined) return undefined;
    const rows = await readTaskFile(ctx, raw, `--${option}`, task, args);
    if (rows.length === 0) throw new CliError(`--${option} ${raw}: no examples`);
    return rows;
  };
  const [tr, dev, test] = [await read('train'), await read('dev'), await read('test')];
  return { ...(tr ? { train: tr } : {}), ...(dev ? { dev } : {}), ...(test ? { test } : {}) };
}

/**
 * Hold out a seeded 10 % of the training data as the dev set when none was given (stratified by label for
 * classification), so that the end-of-training evaluation does not score the training data.
 */
export function ensureDev(splits: Splits, task: Task, seed: number, note: (m: string) => void): Splits {
  if (splits.dev || !splits.train || splits.train.length < 10) return splits;
  const s = splitDataset(splits.train, {
    train: 0.9,
    dev: 0.1,
    seed,
    ...(task === 'classification' ? { stratify: (x: TaskExample) => (x as TextExample).label } : {}),
  });
  note(`no --dev given: holding out ${s.dev.length} of ${splits.train.length} training examples for evaluation`);
  return { ...splits, train: s.train.toArray(), dev: s.dev.toArray() };
}
