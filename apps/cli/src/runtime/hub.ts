import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { downloadFile, HubApiError, listFiles } from '@huggingface/hub';
import { CliError } from '../cli/errors';
import { formatBytes } from './files';

/** The public Hub. */
export const DEFAULT_HUB = 'https://huggingface.co';

/** Files fetched from a model repository when present, besides the weights (`config.json` is required). */
const HUB_MODEL_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
] as const;

const COMPLETE_MARKER = '.adapterkit-complete';

/**
 * The weights to fetch: the first layout `loadHost` reads that the repository has — `model.safetensors`, sharded
 * safetensors (index + `model-0000N-of-0000M.safetensors`), `pytorch_model.bin`, sharded `.bin` (index +
 * `pytorch_model-0000N-of-0000M.bin`) — or undefined.
 */
export function hubWeightFiles(present: ReadonlySet<string> | ReadonlyMap<string, unknown>): string[] | undefined {
  const shards = (re: RegExp): string[] => [...present.keys()].filter((f) => re.test(f)).sort();
  if (present.has('model.safetensors')) return ['model.safetensors'];
  if (present.has('model.safetensors.index.json')) return ['model.safetensors.index.json', ...shards(/^model-\d+-of-\d+\.safetensors$/)];
  if (present.has('pytorch_model.bin')) return ['pytorch_model.bin'];
  if (present.has('pytorch_model.bin.index.json')) return ['pytorch_model.bin.index.json', ...shards(/^pytorch_model-\d+-of-\d+\.bin$/)];
  return undefined;
}

/** Options of {@link downloadHubModel}. */
export interface HubOptions {
  /** Hub base URL (no trailing slash). */
  readonly endpoint: string;
  /** Root of the download cache; the model goes to `<cacheRoot>/<org>/<name>/`. */
  readonly cacheRoot: string;
  /** `HF_TOKEN` (sent as a bearer token). */
  readonly token?: string;
  readonly note: (message: string) => void;
}

/** Turn network and API failures into one-line CLI errors. */
function hubError(err: unknown, id: string, endpoint: string): CliError {
  if (err instanceof HubApiError) {
    if (err.statusCode === 401 || err.statusCode === 403 || err.statusCode === 404) {
      return new CliError(`model '${id}' not found on ${endpoint} (HTTP ${err.statusCode}; private models need HF_TOKEN)`);
    }
    return new CliError(`${endpoint} answered HTTP ${err.statusCode} for '${id}': ${err.message.split('\n')[0]}`);
  }
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  if (err instanceof TypeError && e.message === 'fetch failed') {
    const why = e.cause?.code ?? e.cause?.message ?? 'network error';
    return new CliError(`cannot reach ${endpoint}: ${why} (use a local directory or set HF_ENDPOINT)`);
  }
  return new CliError(`downloading '${id}' from ${endpoint} failed: ${(e.message ?? String(err)).split('\n')[0]}`);
}

/**
 * Download a model repository's checkpoint files ({@link HUB_MODEL_FILES} and the weights of
 * {@link hubWeightFiles}) from the Hub with
 * `@huggingface/hub` (`listFiles`, then `downloadFile` per file, streamed to disk) into the cache, once: a complete
 * download is reused without touching the network. Returns the local folder.
 */
export async function downloadHubModel(id: string, options: HubOptions): Promise<string> {
  const dir = join(options.cacheRoot, ...id.split('/'));
  if (existsSync(join(dir, COMPLETE_MARKER))) return dir;
  const repo = { type: 'model' as const, name: id };
  const common = { hubUrl: options.endpoint, ...(options.token ? { accessToken: options.token } : {}) };
  let present: Map<string, number>;
  try {
    present = new Map();
    for await (const f of listFiles({ repo, ...common })) if (f.type === 'file') present.set(f.path, f.lfs?.size ?? f.size);
  } catch (err) {
    throw hubError(err, id, options.endpoint);
  }
  const weights = hubWeightFiles(present);
  for (const [required, what] of [
    ['config.json', present.has('config.json')],
    ['model.safetensors or pytorch_model.bin (or their sharded forms)', weights !== undefined],
  ] as const) {
    if (!what) {
      const have = [...present.keys()].slice(0, 12).join(', ') || 'no files';
      throw new CliError(`model '${id}' on ${options.endpoint} has no ${required} (the repository has: ${have})`);
    }
  }
  await mkdir(dir, { recursive: true });
  for (const name of [HUB_MODEL_FILES[0], ...weights!, ...HUB_MODEL_FILES.slice(1)]) {
    if (!present.has(name)) continue;
    options.note(`downloading ${id}/${name} (${formatBytes(present.get(name)!)})`);
    const tmp = join(dir, `.${name}.partial`);
    try {
      const blob = await downloadFile({ repo, path: name, ...common });
      if (!blob) throw new CliError(`model '${id}' on ${options.endpoint}: ${name} is listed but cannot be downloaded`);
      await pipeline(Readable.fromWeb(blob.stream() as WebReadableStream<Uint8Array>), createWriteStream(tmp));
    } catch (err) {
      throw err instanceof CliError ? err : hubError(err, id, options.endpoint);
    }
    await rename(tmp, join(dir, name));
  }
  await writeFile(join(dir, COMPLETE_MARKER), `${new Date().toISOString()} ${options.endpoint}\n`);
  return dir;
}

