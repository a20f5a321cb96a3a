import type { AdapterModel } from '@adapterkit/core';
import { importPeftAdapter } from './peft/import';

const importCase = (model: AdapterModel, dir: string): Promise<string> => importPeftAdapter(model, dir);

/**
 * For the parity runner: how to load the golden cases of PEFT files (`peft_*` kinds: a folder written by PEFT's
 * `save_pretrained`), through {@link importPeftAdapter}.
 */
export const parityCaseLoaders: Readonly<Record<string, (model: AdapterModel, dir: string) => Promise<string>>> = {
  peft_lora: importCase,
  peft_dora: importCase,
  peft_lora_all: importCase,
  peft_ia3: importCase,
  peft_vera: importCase,
};
