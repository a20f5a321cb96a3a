import type { AdapterModel } from '@adapterkit/core';
import type { LabelMap } from '@adapterkit/data';
import { addCausalLmHead, addClassificationHead, addMaskedLmHead, addTaggingHead, getHeads } from '@adapterkit/training';
import { CliError } from '../cli/errors';
import type { Task } from './datasets';

/** Add the prediction head of a task under `name` (active), initialised from `seed`. */
export function addTaskHead(model: AdapterModel, name: string, task: Task, labels: LabelMap | undefined, seed: number): void {
  switch (task) {
    case 'classification':
      addClassificationHead(model, name, { numLabels: labels!.size, id2label: labels!.names, seed });
      return;
    case 'tagging':
      addTaggingHead(model, name, { numLabels: labels!.size, id2label: labels!.names, seed });
      return;
    case 'masked-lm':
      addMaskedLmHead(model, name, { seed });
      return;
    case 'causal-lm':
      if (model.info.isDecoder !== true) {
        throw new CliError(`--task causal-lm needs a decoder model (gpt2, llama, qwen2); this ${model.info.modelType} model attends in both directions (use masked-lm)`);
      }
      addCausalLmHead(model, name, { seed });
      return;
  }
}

/** Label names of a classification/tagging head, by id (from its `label2id`). */
export function headLabels(model: AdapterModel, head: string): string[] {
  const label2id = getHeads(model).require(head).config.label2id ?? {};
  const names: string[] = [];
  for (const [label, id] of Object.entries(label2id)) names[id] = label;
  return Array.from(names, (n, i) => n ?? `LABEL_${i}`);
}
