import { join } from 'node:path';
import { ADAPTER_WEIGHTS_FILE, findAdapterWeights, refLabel } from '@adapterkit/core';
import { ejectPrefixTuning } from '@adapterkit/prefix-tuning';
import { saveAdapterWithHead } from '@adapterkit/training';
import type { CommandSpec } from '../cli/command';
import { convertOptions, loadForConversion } from '../runtime/convert';
import { copyTokenizerFiles, fileSize, formatBytes } from '../runtime/files';

/** `adapterkit eject-prefix`: replace a prefix-tuning adapter's reparameterisation by its flat output. */
export const ejectPrefixCommand: CommandSpec = {
  name: 'eject-prefix',
  summary: "replace a prefix-tuning adapter's MLP reparameterisation by the flat prefix it computes",
  usage: ['--model DIR --adapter DIR --out DIR'],
  details: [
    "The reference's eject_prefix_tuning(): outputs stay the same while the adapter keeps only the flat prefix",
    '(config flat=True), so the saved file is much smaller. Works on prefix tuning and on unions with it (mam,',
    'unipelt); the head and tokenizer files of the adapter folder are kept.',
  ],
  options: convertOptions('a saved prefix-tuning adapter folder', 'folder for the ejected adapter'),
  examples: ['adapterkit eject-prefix --model models/bert --adapter out/prefix --out out/prefix-flat'],
  async run(args, ctx) {
    const { model, name, adapterDir, out } = await loadForConversion(args, ctx);
    const inputFile = refLabel(await findAdapterWeights(adapterDir));
    const before = model.requireAdapter(name).params.count();
    ejectPrefixTuning(model, name);
    const after = model.requireAdapter(name).params.count();
    await saveAdapterWithHead(model, out, name);
    await copyTokenizerFiles(adapterDir, out);
    const fmt = (n: number): string => n.toLocaleString('en-US');
    ctx.out(`ejected prefix of '${name}': ${fmt(before)} → ${fmt(after)} parameters`);
    ctx.out(
      `wrote ${out}: ${ADAPTER_WEIGHTS_FILE} ${formatBytes(fileSize(join(out, ADAPTER_WEIGHTS_FILE)))} (was ${formatBytes(fileSize(inputFile))})`,
    );
  },
};
