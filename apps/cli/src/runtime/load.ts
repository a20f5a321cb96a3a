import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdapterModel, ADAPTER_CONFIG_FILE, Stack, formatSetup } from '@adapterkit/core';
import { loadHost, type ModelHost } from '@adapterkit/models';
import { loadAdapterWithHead } from '@adapterkit/training';
import type { Context } from '../cli/command';
import { CliError } from '../cli/errors';
import { requireDir } from './files';
import { ALL_METHODS } from './methods';
import { parseSetup } from './setup';

/**
 * An AdapterModel over a loaded host, with every adapter method installed and library warnings as notes; `seed`
 * seeds the initialisation of the adapters added to it.
 */
export async function loadModel(dir: string, ctx: Context, options: { readonly seed?: number } = {}): Promise<AdapterModel> {
  await ctx.ensureBackend();
  const host: ModelHost = await loadHost(dir);
  if (ctx.verbose) for (const n of host.notes) ctx.note(n);
  return new AdapterModel(host, { methods: ALL_METHODS, warn: (m) => ctx.note(m), ...(options.seed !== undefined ? { seed: options.seed } : {}) });
}

/** Resolve an `--adapter` folder against the working directory and check it looks like a saved adapter. */
export function adapterDir(ctx: Context, dir: string): string {
  const abs = resolve(ctx.io.cwd, dir);
  requireDir(abs, '--adapter');
  if (!existsSync(join(abs, ADAPTER_CONFIG_FILE))) throw new CliError(`--adapter ${dir}: not an adapter folder (no ${ADAPTER_CONFIG_FILE})`);
  return abs;
}

/** Load saved adapters (each with its head, if the folder has one); returns their names in order. */
export async function loadAdapters(model: AdapterModel, dirs: readonly string[], ctx: Context): Promise<string[]> {
  const names: string[] = [];
  for (const d of dirs) names.push(await loadAdapterWithHead(model, adapterDir(ctx, d)));
  return names;
}

/**
 * Activate the adapters: the `--setup` string when given, else the only adapter, else a Stack of all in the
 * order given (with a note).
 */
export function activate(model: AdapterModel, names: readonly string[], setup: string | undefined, ctx: Context): void {
  if (setup !== undefined) {
    model.setActiveAdapters(parseSetup(setup));
    return;
  }
  if (names.length === 0) return;
  const node = names.length === 1 ? names[0]! : Stack(...names);
  if (names.length > 1) ctx.note(`activating ${formatSetup(node)} (pass --setup to compose differently)`);
  model.setActiveAdapters(node);
}
