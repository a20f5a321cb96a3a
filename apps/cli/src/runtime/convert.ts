import { resolve } from 'node:path';
import type { AdapterModel } from '@adapterkit/core';
import type { Args, OptionSpec } from '../cli/args';
import type { Context } from '../cli/command';
import { adapterDir, loadAdapters, loadModel } from './load';
import { MODEL_OPTIONS, resolveModel, type ModelSource } from './model-source';

/**
 * Options of the commands that turn one saved adapter into a new folder (`eject-prefix`, `merge`): the model
 * options, `--adapter DIR` and `--out DIR`.
 */
export function convertOptions(adapterDescription: string, outDescription: string): Record<string, OptionSpec> {
  return {
    ...MODEL_OPTIONS,
    adapter: { type: 'string', value: 'DIR', description: adapterDescription },
    out: { type: 'string', value: 'DIR', description: outDescription },
  };
}

/** What {@link loadForConversion} loaded. */
export interface Conversion {
  readonly model: AdapterModel;
  readonly source: ModelSource;
  /** The adapter's name (as saved in its folder). */
  readonly name: string;
  /** The adapter folder, absolute. */
  readonly adapterDir: string;
  /** `--out`, absolute. */
  readonly out: string;
}

/** Read `--adapter` and `--out` (both required), load the model and the adapter with its head. */
export async function loadForConversion(args: Args, ctx: Context): Promise<Conversion> {
  const adapter = args.required('adapter', 'DIR');
  const out = resolve(ctx.io.cwd, args.required('out', 'DIR'));
  const source = await resolveModel(args, ctx);
  const model = await loadModel(source.dir, ctx);
  const [name] = await loadAdapters(model, [adapter], ctx);
  return { model, source, name: name!, adapterDir: adapterDir(ctx, adapter), out };
}
