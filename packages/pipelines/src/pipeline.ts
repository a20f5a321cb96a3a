import { AdapterKitError } from '@adapterkit/core';
import { useAdapter, type AdapterSelection } from './adapters';
import { textList } from './encode';
import { loadPretrained, type LoadPretrainedOptions, type Pretrained, type PretrainedSource } from './load';
import { loadCheckpointMaskedLmHead } from './mlm-head';
import {
  classifyTexts,
  fillMasks,
  generateTexts,
  tagTexts,
  type FillMaskOptions,
  type GeneratedText,
  type LabelScore,
  type MaskFill,
  type PipelineContext,
  type TextClassificationOptions,
  type TextGenerationOptions,
  type TokenClassificationOptions,
  type TokenTag,
  type EntityGroup,
  type GroupingStrategy,
} from './tasks';
import { resolvePretrainedSource } from './load';

/** The tasks {@link pipeline} builds. */
export const PIPELINE_TASKS = ['text-classification', 'token-classification', 'fill-mask', 'text-generation'] as const;
/** One of {@link PIPELINE_TASKS}. */
export type PipelineTask = (typeof PIPELINE_TASKS)[number];

/** Options of {@link pipeline}. */
export interface PipelineOptions extends AdapterSelection, LoadPretrainedOptions {
  /**
   * The base model: `'embedded'` (default), a model folder, URL or Hub id (loaded with its tokenizer), or a
   * {@link Pretrained} already loaded (shared: the pipeline's `dispose` then leaves it alone).
   */
  readonly model?: PretrainedSource | Pretrained;
}

/** What every pipeline carries besides being callable. */
interface PipelineBase extends PipelineContext {
  readonly task: PipelineTask;
  /** The active adapters, in order. */
  readonly adapters: readonly string[];
  /** Frees the model's tensors when the pipeline loaded the model itself (a shared {@link Pretrained} stays). */
  dispose(): void;
}

/** `classify(text)` → labels of that text; `classify(texts)` → labels per text. Scores are plain numbers. */
export interface TextClassificationPipeline extends PipelineBase {
  (text: string, options?: TextClassificationOptions): Promise<LabelScore[]>;
  (texts: readonly string[], options?: TextClassificationOptions): Promise<LabelScore[][]>;
}
/**
 * `tag(text)` → tagged tokens; `tag(texts)` → per text. With `aggregationStrategy` `simple`, `first`, `max` or
 * `average`: entity groups instead (transformers' `aggregation_strategy`).
 */
export interface TokenClassificationPipeline extends PipelineBase {
  (text: string, options?: TokenClassificationOptions & { readonly aggregationStrategy?: 'none' }): Promise<TokenTag[]>;
  (texts: readonly string[], options?: TokenClassificationOptions & { readonly aggregationStrategy?: 'none' }): Promise<TokenTag[][]>;
  (text: string, options: TokenClassificationOptions & { readonly aggregationStrategy: GroupingStrategy }): Promise<EntityGroup[]>;
  (texts: readonly string[], options: TokenClassificationOptions & { readonly aggregationStrategy: GroupingStrategy }): Promise<EntityGroup[][]>;
}
/** `unmask(text)` → per mask token of the text, its candidates; `unmask(texts)` → per text. */
export interface FillMaskPipeline extends PipelineBase {
  (text: string, options?: FillMaskOptions): Promise<MaskFill[][]>;
  (texts: readonly string[], options?: FillMaskOptions): Promise<MaskFill[][][]>;
}
/** `generate(prompt)` → the generated text; `generate(prompts)` → per prompt. */
export interface TextGenerationPipeline extends PipelineBase {
  (prompt: string, options?: TextGenerationOptions): Promise<GeneratedText>;
  (prompts: readonly string[], options?: TextGenerationOptions): Promise<GeneratedText[]>;
}

/** The pipeline type of each task. */
export interface PipelineByTask {
  'text-classification': TextClassificationPipeline;
  'token-classification': TokenClassificationPipeline;
  'fill-mask': FillMaskPipeline;
  'text-generation': TextGenerationPipeline;
}

/** Name of the masked-LM head taken from a `BertForMaskedLM` checkpoint when no adapter brings one. */
export const CHECKPOINT_MLM_HEAD = 'checkpoint_mlm';

function isPretrained(x: unknown): x is Pretrained {
  return typeof x === 'object' && x !== null && 'model' in x && 'tokenizer' in x && typeof (x as Pretrained).dispose === 'function';
}

/**
 * A task pipeline in the style of transformers' `pipeline()`: loads the model and its tokenizer (default
 * `'embedded'`), loads and activates the adapter(s) with their head, and returns a function from texts to plain
 * results (labels and scores, tags, mask candidates, generated text). No tensor reaches the caller; `dispose()`
 * frees the model when the pipeline loaded it.
 *
 * ```ts
 * const classify = await pipeline('text-classification', { model: 'embedded', adapter: 'out/sentiment' });
 * await classify('What a lovely day'); // [{ label: 'positive', score: 0.97 }]
 * const unmask = await pipeline('fill-mask'); // the embedded model's own MLM head
 * await unmask('the whale swam in the [MASK].');
 * ```
 *
 * @throws AdapterKitError `PIPELINE_TASK` for an unknown task; `PIPELINE_HEAD` when the selection has no head of
 *   the task's kind (text generation needs none); the loaders' typed errors.
 */
export async function pipeline<T extends PipelineTask>(task: T, options: PipelineOptions = {}): Promise<PipelineByTask[T]> {
  if (!(PIPELINE_TASKS as readonly string[]).includes(task)) {
    throw new AdapterKitError('PIPELINE_TASK', `pipeline: unknown task '${String(task)}' (tasks: ${PIPELINE_TASKS.join(', ')})`);
  }
  const shared = isPretrained(options.model);
  const pretrained = isPretrained(options.model) ? options.model : await loadPretrained(options.model ?? 'embedded', options);
  try {
    const selection = await useAdapter(pretrained.model, options);
    let head = selection.head;
    if (task === 'fill-mask' && head === undefined && !isPretrained(options.model)) {
      const { source } = await resolvePretrainedSource(options.model ?? 'embedded', options);
      if (await loadCheckpointMaskedLmHead(pretrained.model, source, CHECKPOINT_MLM_HEAD)) head = CHECKPOINT_MLM_HEAD;
    }
    const ctx: PipelineContext = { model: pretrained.model, tokenizer: pretrained.tokenizer, ...(head !== undefined ? { head } : {}) };
    const run = async (input: unknown, o: object = {}): Promise<unknown> => {
      const { texts, single } = textList(input, task);
      const results: unknown[] =
        task === 'text-classification'
          ? classifyTexts(ctx, texts, o)
          : task === 'token-classification'
            ? tagTexts(ctx, texts, o)
            : task === 'fill-mask'
              ? fillMasks(ctx, texts, o)
              : generateTexts(ctx, texts, o);
      return single ? results[0] : results;
    };
    // fail now, not at the first call, when the selection cannot serve the task
    if (task === 'text-classification') classifyTexts(ctx, [], {});
    else if (task === 'token-classification') tagTexts(ctx, [], {});
    else if (task === 'fill-mask') fillMasks(ctx, [], {});
    else if (pretrained.model.info.isDecoder !== true) {
      throw new AdapterKitError('PIPELINE_HEAD', `text-generation needs a decoder model (gpt2, llama, qwen2); this ${pretrained.model.info.modelType} model attends in both directions (use fill-mask)`);
    }
    const base = { task, model: ctx.model, tokenizer: ctx.tokenizer, adapters: selection.adapters, ...(head !== undefined ? { head } : {}), dispose: () => (shared ? undefined : pretrained.dispose()) };
    return Object.assign(run, base) as unknown as PipelineByTask[T];
  } catch (err) {
    if (!shared) pretrained.dispose();
    throw err;
  }
}
