import { resolve } from 'node:path';
import { mergeAdapter } from '@adapterkit/lora';
import { getHeads } from '@adapterkit/training';
import type { CommandSpec } from '../cli/command';
import { convertOptions, loadForConversion } from '../runtime/convert';
import { copyTokenizerFiles, fileSize, formatBytes } from '../runtime/files';
import { hostOf } from '../runtime/limits';
import { writeModelDir } from '../runtime/model-files';

/** `adapterkit merge`: fold a LoRA / (IA)³ adapter into the base weights and write a plain model folder. */
export const mergeCommand: CommandSpec = {
  name: 'merge',
  summary: 'merge a LoRA / (IA)³ adapter into the base weights and write a full model folder',
  usage: ['--model DIR --adapter DIR --out DIR'],
  details: [
    'Writes config.json and model.safetensors in the Hugging Face layout (loadable by transformers and by',
    '--model), plus the base model\'s tokenizer files. The merged model runs at the base model\'s speed. (IA)³ merges',
    'scale the biases too, so merged outputs equal the unmerged ones.',
  ],
  options: convertOptions('a saved LoRA or (IA)³ adapter folder', 'folder for the merged model'),
  examples: ['adapterkit merge --model models/bert --adapter out/lora-sst2 --out models/bert-sst2-merged'],
  async run(args, ctx) {
    const { model, source, name, adapterDir, out } = await loadForConversion(args, ctx);
    model.setActiveAdapters(name);
    mergeAdapter(model, name);
    const host = hostOf(model);
    await writeModelDir(out, host.config.raw, host.exportWeights());
    const tokenizer = await copyTokenizerFiles(source.dir, out);
    if (getHeads(model).has(name)) ctx.note(`the adapter's prediction head '${name}' is not part of the merged model; it stays in ${adapterDir}`);
    ctx.out(`merged adapter '${name}' into ${source.spec}`);
    ctx.out(`wrote ${out}: config.json, model.safetensors (${formatBytes(fileSize(resolve(out, 'model.safetensors')))})${tokenizer.length ? `, ${tokenizer.join(', ')}` : ''}`);
  },
};
