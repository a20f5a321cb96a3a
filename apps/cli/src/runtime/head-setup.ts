import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AdapterModel } from '@adapterkit/core';
import { getHeads, HEAD_CONFIG_FILE, loadHead } from '@adapterkit/training';
import type { Args } from '../cli/args';
import type { Context } from '../cli/command';
import { CliError } from '../cli/errors';
import { activate, loadAdapters } from './load';

/**
 * Load the `--adapter` folders (each with its head) and activate them (`--setup`); without adapters, load the
 * head saved in the model folder itself (a `train --full` output). Returns the name of the single active head
 * and the adapter folders.
 */
export async function loadForPrediction(model: AdapterModel, modelDir: string, args: Args, ctx: Context): Promise<string> {
  const dirs = args.strings('adapter');
  const names = await loadAdapters(model, dirs, ctx);
  activate(model, names, args.string('setup'), ctx);
  if (names.length === 0 && existsSync(join(modelDir, HEAD_CONFIG_FILE))) await loadHead(model, modelDir);
  const active = getHeads(model).activeHead;
  if (!active) {
    const where = dirs.length ? dirs.join(', ') : modelDir;
    throw new CliError(`no prediction head: ${where} has no ${HEAD_CONFIG_FILE} (adapters saved by 'adapterkit train' have one)`);
  }
  if (active.kind !== 'single') throw new CliError(`the setup activates ${active.names.length} heads (${active.names.join(', ')}); predict and eval need one`);
  return active.names[0]!;
}
