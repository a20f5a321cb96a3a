import { resolve } from 'node:path';
import { LabelMap } from '@adapterkit/data';
import { evaluate, getHeads, isLmHead } from '@adapterkit/training';
import type { CommandSpec } from '../cli/command';
import { CliError } from '../cli/errors';
import { COLUMN_OPTIONS, loadSplits, type Task } from '../runtime/datasets';
import { encodeExamples } from '../runtime/encode';
import { formatMetrics } from '../runtime/progress';
import { loadForPrediction } from '../runtime/head-setup';
import { headLabels } from '../runtime/heads';
import { hostOf, maxLengthFor } from '../runtime/limits';
import { loadModel } from '../runtime/load';
import { resolveModel } from '../runtime/model-source';
import { resolveTokenizer } from '../runtime/tokenizer';
import { TRAINED_OPTIONS } from './predict';

const TASK_OF_HEAD: Record<string, Task> = {
  classification: 'classification',
  tagging: 'tagging',
  masked_lm: 'masked-lm',
  causal_lm: 'causal-lm',
};

const SPLITS = ['test', 'dev', 'train'] as const;

/** `adapterkit eval`: metrics of a trained adapter + head on labelled data. */
export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'evaluate a trained adapter and head on a dataset (loss, accuracy, macro-F1, Matthews correlation or perplexity)',
  usage: ['--model DIR --adapter DIR --dataset NAME [--split test|dev|train]', '--model DIR --adapter DIR --test FILE [--text-column ...]'],
  details: [
    "The task follows the head (classification, tagging, masked or causal LM); labels are mapped with the head's",
    'label names, so an unknown label is an error. Masked-LM evaluation masks 15 % of the tokens with --seed.',
  ],
  options: {
    ...TRAINED_OPTIONS,
    dataset: { type: 'string', value: 'NAME', description: 'embedded dataset: spam, langid' },
    split: { type: 'string', value: SPLITS.join('|'), description: 'split of the embedded dataset', default: 'test' },
    test: { type: 'string', value: 'FILE', description: 'evaluation data (.csv, .tsv, .jsonl; .txt for LM heads)' },
    ...COLUMN_OPTIONS,
    seed: { type: 'string', value: 'N', description: 'masked LM: seed of the masking', default: '42' },
  },
  examples: [
    'adapterkit eval --model embedded --adapter out/spam --dataset spam',
    'adapterkit eval --model models/bert --adapter out/sst2 --test data/test.csv --text-column sentence',
  ],
  async run(args, ctx) {
    const batchSize = args.int('batch-size', 32);
    const split = args.choice('split', SPLITS, 'test');
    const seed = args.int('seed', 42, 0);
    if (!args.has('dataset') && !args.has('test')) throw new CliError("missing --dataset NAME or --test FILE (see 'adapterkit eval --help')");
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    const maxLength = maxLengthFor(args, model);
    const head = await loadForPrediction(model, source.dir, args, ctx);
    const config = getHeads(model).require(head).config;
    const task = TASK_OF_HEAD[config.headType];
    if (!task) throw new CliError(`eval does not support ${config.headType} heads`);
    const dirs = [...args.strings('adapter').map((d) => resolve(ctx.io.cwd, d)), source.dir];
    const { tokenizer } = await resolveTokenizer(ctx, args.string('tokenizer'), dirs, model.info.vocabSize);
    const splits = await loadSplits(args, ctx, task, false);
    const rows = args.has('dataset') ? splits[split] : splits.test;
    if (!rows || rows.length === 0) throw new CliError(`no ${args.has('dataset') ? split : 'test'} examples`);
    const labels = isLmHead(config.headType) ? undefined : new LabelMap(headLabels(model, head));
    const host = hostOf(model);
    const data = encodeExamples(task, tokenizer, rows, { maxLength, seed, tokenTypes: host.config.typeVocabSize > 0, ...(labels ? { labels } : {}) });
    const padTokenId = tokenizer.padTokenId ?? host.config.padTokenId ?? 0;
    const m = await evaluate(model, data, { head, batchSize, padTokenId });
    ctx.out(`${head} on ${args.string('dataset') ? `${args.string('dataset')}/${split}` : args.string('test')} (${data.length} examples): ${formatMetrics(m)}`);
  },
};
