import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OptionSpec } from '../cli/args';
import type { Args } from '../cli/args';
import type { Context } from '../cli/command';
import { CliError } from '../cli/errors';
import { DEFAULT_HUB, downloadHubModel } from './hub';
import { classifyModelSpec } from './model-spec';

/** The `--model` option and its Hub endpoint, shared by every command that loads a model. */
export const MODEL_OPTIONS = {
  model: { type: 'string', value: 'DIR|HUB_ID|embedded', description: 'base model: a Hugging Face folder, `embedded`, or a Hub id org/name' },
  'hub-endpoint': { type: 'string', value: 'URL', description: 'Hub to download from (default: $HF_ENDPOINT, else https://huggingface.co)' },
} as const satisfies Record<string, OptionSpec>;

/** Where the repository's embedded default model lives (relative to the repository root). */
export const EMBEDDED_MODEL = 'models/adapterkit-bert-mini';
/** Used while {@link EMBEDDED_MODEL} has not been built: the golden fixtures' tiny BERT. */
export const EMBEDDED_FALLBACK = 'fixtures/golden/models/bert';

/** A resolved model folder. */
export interface ModelSource {
  readonly dir: string;
  readonly kind: 'local' | 'embedded' | 'hub';
  /** What the user asked for (for messages and model cards). */
  readonly spec: string;
}

/** Find `rel` in this module's folder or any folder above it (the repository root when run from a checkout). */
function findUp(rel: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, rel, 'config.json'))) return join(dir, rel);
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function checkModelDir(dir: string, spec: string): void {
  if (!statSync(dir).isDirectory()) throw new CliError(`--model ${spec}: not a directory (a model is a folder with config.json and model.safetensors)`);
  if (!existsSync(join(dir, 'config.json'))) throw new CliError(`--model ${spec}: not a model folder (no config.json)`);
}

/**
 * Resolve `--model`: an existing local folder; `embedded` (the repository's default model, or the golden tiny
 * BERT with a note while it is missing); or a Hub id `org/name`, downloaded once into the cache
 * (`$ADAPTERKIT_CACHE`, default `~/.cache/adapterkit/hub`) from `--hub-endpoint` / `$HF_ENDPOINT`.
 */
export async function resolveModel(args: Args, ctx: Context, option = 'model'): Promise<ModelSource> {
  const spec = args.required(option, 'DIR|HUB_ID|embedded');
  if (spec === 'embedded') {
    const dir = findUp(EMBEDDED_MODEL);
    if (dir) return { dir, kind: 'embedded', spec };
    const fallback = findUp(EMBEDDED_FALLBACK);
    if (!fallback) throw new CliError(`--model embedded: neither ${EMBEDDED_MODEL} nor ${EMBEDDED_FALLBACK} was found above ${dirname(fileURLToPath(import.meta.url))}`);
    ctx.note(`the embedded model ${EMBEDDED_MODEL} is not built yet; using the golden test model ${EMBEDDED_FALLBACK} (random weights)`);
    return { dir: fallback, kind: 'embedded', spec };
  }
  const local = resolve(ctx.io.cwd, spec);
  if (existsSync(local)) {
    checkModelDir(local, spec);
    return { dir: local, kind: 'local', spec };
  }
  const what = classifyModelSpec(spec, ctx.io.cwd, `--${option}`);
  if (what.kind === 'missing-path') throw new CliError(what.message, 'NO_SUCH_MODEL_FOLDER');
  const env = ctx.io.env;
  const endpoint = (args.string('hub-endpoint') ?? env['HF_ENDPOINT'] ?? DEFAULT_HUB).replace(/\/+$/, '');
  const cacheRoot = env['ADAPTERKIT_CACHE'] ?? join(env['HOME'] ?? homedir(), '.cache', 'adapterkit', 'hub');
  const dir = await downloadHubModel(what.id, { endpoint, cacheRoot, note: (m) => ctx.note(m), ...(env['HF_TOKEN'] ? { token: env['HF_TOKEN'] } : {}) });
  return { dir, kind: 'hub', spec };
}
