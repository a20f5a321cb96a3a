import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMBEDDED_MODEL_FILES, embeddedModelDir } from '@adapterkit/bert-mini';
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

/** The package that ships the embedded default model (`packages/bert-mini`; its files are in `model/`). */
export const EMBEDDED_MODEL = '@adapterkit/bert-mini';
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
 * Resolve `--model`: an existing local folder; `embedded` (the model folder of `@adapterkit/bert-mini`, or the
 * golden tiny BERT with a note while a checkout has not built it); or a Hub id `org/name`, downloaded once into the cache
 * (`$ADAPTERKIT_CACHE`, default `~/.cache/adapterkit/hub`) from `--hub-endpoint` / `$HF_ENDPOINT`.
 */
export async function resolveModel(args: Args, ctx: Context, option = 'model'): Promise<ModelSource> {
  const spec = args.required(option, 'DIR|HUB_ID|embedded');
  if (spec === 'embedded') {
    const dir = embeddedModelDir(); // the installed package's model folder (a dependency of the CLI)
    if (EMBEDDED_MODEL_FILES.every((f) => existsSync(join(dir, f)))) return { dir, kind: 'embedded', spec };
    // in a checkout where the model has not been built (pnpm pretrain:embedded) yet: the golden tiny BERT
    const fallback = findUp(EMBEDDED_FALLBACK);
    const missing = EMBEDDED_MODEL_FILES.filter((f) => !existsSync(join(dir, f)));
    if (!fallback) throw new CliError(`--model embedded: ${EMBEDDED_MODEL} is installed but its model folder ${dir} lacks ${missing.join(', ')} (reinstall ${EMBEDDED_MODEL})`);
    ctx.note(`the embedded model ${EMBEDDED_MODEL} is not built yet (${dir} lacks ${missing.join(', ')}); using the golden test model ${EMBEDDED_FALLBACK} (random weights)`);
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
