import type { Architecture } from './architecture';
import { BERT_ARCHITECTURE } from './bert';
import { DISTILBERT_ARCHITECTURE } from './distilbert';
import { GPT2_ARCHITECTURE } from './gpt2';
import { LLAMA_ARCHITECTURE } from './llama';

/** The architectures this package implements; adding a family adds its descriptor here. */
export const ARCHITECTURES: readonly Architecture[] = [BERT_ARCHITECTURE, GPT2_ARCHITECTURE, DISTILBERT_ARCHITECTURE, LLAMA_ARCHITECTURE];

/** The descriptor of a `model_type`, or undefined. */
export function architectureOf(modelType: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.modelTypes.includes(modelType));
}
