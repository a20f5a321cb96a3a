import { resolve } from 'node:path';
import { WEIGHTS_FORMATS } from '@adapterkit/core';
import type { CommandSpec } from '../cli/command';
import { UsageError } from '../cli/errors';
import { convertFolder } from '../runtime/weights-format';

/** `adapterkit convert IN OUT --format …`: the weights of a saved folder in another file format. */
export const convertCommand: CommandSpec = {
  name: 'convert',
  summary: 'rewrite the weights of an adapter, head, fusion or model folder as safetensors, torch .bin, or both',
  usage: ['IN OUT --format safetensors|bin|both'],
  positionals: 'IN OUT',
  details: [
    'Copies the folder IN to OUT with every weights file rewritten in the chosen format (same keys, shapes and',
    'values; float16/bfloat16 become float32); other files are copied unchanged, sub-folders (a composition\'s',
    'adapters/ and fusion/) are converted too. bin writes the names adapter-transformers 3.x reads',
    '(pytorch_adapter.bin, pytorch_model_head.bin, pytorch_model_adapter_fusion.bin, pytorch_model.bin);',
    'safetensors writes adapter.safetensors, model_head.safetensors, model_adapter_fusion.safetensors,',
    'model.safetensors. Torch files are read without executing anything from them.',
  ],
  options: {
    format: { type: 'string', value: WEIGHTS_FORMATS.join('|'), description: 'the weights format to write' },
  },
  examples: ['adapterkit convert out/sst2 out/sst2-bin --format bin', 'adapterkit convert models/bert-hub models/bert --format safetensors'],
  async run(args, ctx) {
    if (args.positionals.length !== 2) throw new UsageError(`convert takes IN and OUT folders, got ${args.positionals.length} argument(s) (see 'adapterkit convert --help')`);
    if (!args.has('format')) throw new UsageError(`missing --format ${WEIGHTS_FORMATS.join('|')} (see 'adapterkit convert --help')`);
    const format = args.choice('format', WEIGHTS_FORMATS);
    const [input, output] = args.positionals.map((p) => resolve(ctx.io.cwd, p)) as [string, string];
    const written = await convertFolder(input, output, format!);
    for (const w of written) ctx.out(`wrote ${w.path}: ${w.what}, ${w.tensors} tensors (opens in ${w.readers})`);
  },
};
