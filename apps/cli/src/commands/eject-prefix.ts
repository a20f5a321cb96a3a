import { join, resolve } from 'node:path';
import { ADAPTER_WEIGHTS_FILE, findAdapterWeights } from '@adapterkit/core';
import { ejectPrefixTuning } from '@adapterkit/prefix-tuning';
import { saveAdapterWithHead } from '@adapterkit/training';
import type { CommandSpec } from '../cli/command';
import { copyTokenizerFiles, fileSize, formatBytes } from '../runtime/files';
import { adapterDir, loadAdapters, loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';

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
  options: {
    ...MODEL_OPTIONS,
    adapter: { type: 'string', value: 'DIR', description: 'a saved prefix-tuning adapter folder' },
    out: { type: 'string', value: 'DIR', description: 'folder for the ejected adapter' },
  },
  examples: ['adapterkit eject-prefix --model models/bert --adapter out/prefix --out out/prefix-flat'],
  async run(args, ctx) {
    const adapter = args.required('adapter', 'DIR');
    const out = resolve(ctx.io.cwd, args.required('out', 'DIR'));
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    const [name] = await loadAdapters(model, [adapter], ctx);
    const inputFile = findAdapterWeights(adapterDir(ctx, adapter));
    const before = model.requireAdapter(name!).params.count();
    ejectPrefixTuning(model, name!);
    const after = model.requireAdapter(name!).params.count();
    await saveAdapterWithHead(model, out, name!);
    await copyTokenizerFiles(adapterDir(ctx, adapter), out);
    const fmt = (n: number): string => n.toLocaleString('en-US');
    ctx.out(`ejected prefix of '${name}': ${fmt(before)} → ${fmt(after)} parameters`);
    ctx.out(
      `wrote ${out}: ${ADAPTER_WEIGHTS_FILE} ${formatBytes(fileSize(join(out, ADAPTER_WEIGHTS_FILE)))} (was ${formatBytes(fileSize(inputFile))})`,
    );
  },
};
