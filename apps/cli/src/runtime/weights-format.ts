/**
 * `adapterkit convert`: rewrites the weights of saved adapter, head, fusion and model folders in another file
 * format (safetensors ↔ torch `.bin`), copying every other file unchanged. No model is loaded: tensors go from one
 * container to the other with the same keys, shapes and values (float16/bfloat16 become float32).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FUSION_WEIGHTS_BIN, FUSION_WEIGHTS_FILE, findFusionWeights } from '@adapterkit/bottleneck';
import {
  ADAPTER_WEIGHTS_BIN,
  ADAPTER_WEIGHTS_CANDIDATES,
  ADAPTER_WEIGHTS_FILE,
  ADAPTER_WEIGHTS_TORCH,
  findWeightsFile,
  readWeightsFile,
  serializeWeights,
  weightsFileReaders,
  writeFilesAtomic,
  type TensorEntry,
  type WeightsFileNames,
  type WeightsFormat,
} from '@adapterkit/core';
import { readCheckpointWeights } from '@adapterkit/models';
import { HEAD_WEIGHTS_BIN, HEAD_WEIGHTS_CANDIDATES, HEAD_WEIGHTS_FILE } from '@adapterkit/training';
import { CliError } from '../cli/errors';

/** One kind of saved module: its config file, how to find its weights, the names to write. */
interface Kind {
  readonly what: string;
  readonly config: string;
  readonly names: WeightsFileNames;
  /** Files of this kind's weights in any format (not copied: they are rewritten). */
  readonly isWeights: (file: string) => boolean;
  readonly read: (dir: string) => Promise<Map<string, TensorEntry>>;
}

const KINDS: readonly Kind[] = [
  {
    what: 'adapter',
    config: 'adapter_config.json',
    names: { safetensors: ADAPTER_WEIGHTS_FILE, bin: ADAPTER_WEIGHTS_BIN },
    isWeights: (f) => [...ADAPTER_WEIGHTS_CANDIDATES, ...ADAPTER_WEIGHTS_TORCH].includes(f as never),
    read: async (dir) => (await readWeightsFile(await findWeightsFile(dir, { candidates: ADAPTER_WEIGHTS_CANDIDATES, torchFile: ADAPTER_WEIGHTS_TORCH, what: 'adapter weights' }))).tensors,
  },
  {
    what: 'head',
    config: 'head_config.json',
    names: { safetensors: HEAD_WEIGHTS_FILE, bin: HEAD_WEIGHTS_BIN },
    isWeights: (f) => [...HEAD_WEIGHTS_CANDIDATES, HEAD_WEIGHTS_BIN].includes(f as never),
    read: async (dir) => (await readWeightsFile(await findWeightsFile(dir, { candidates: HEAD_WEIGHTS_CANDIDATES, torchFile: HEAD_WEIGHTS_BIN, what: 'head weights' }))).tensors,
  },
  {
    what: 'fusion',
    config: 'adapter_fusion_config.json',
    names: { safetensors: FUSION_WEIGHTS_FILE, bin: FUSION_WEIGHTS_BIN },
    isWeights: (f) => f === FUSION_WEIGHTS_FILE || f === FUSION_WEIGHTS_BIN || f === 'fusion.safetensors',
    read: async (dir) => (await readWeightsFile(await findFusionWeights(dir))).tensors,
  },
  {
    what: 'model',
    config: 'config.json',
    names: { safetensors: 'model.safetensors', bin: 'pytorch_model.bin' },
    isWeights: (f) => /^(pytorch_model|model)(-\d+-of-\d+)?\.(bin|safetensors)(\.index\.json)?$/.test(f),
    read: async (dir) => (await readCheckpointWeights(dir)).tensors,
  },
];

/** One written weights file, for the report. */
export interface WrittenWeights {
  readonly path: string;
  readonly what: string;
  readonly tensors: number;
  /** Which libraries open it. */
  readonly readers: string;
}

/**
 * Converts `input` into `output` (created; may not be `input`), folder by folder (sub-folders too, e.g. a
 * composition's `adapters/` and `fusion/`). Each folder is written atomically.
 *
 * @throws CliError when no folder holds a known config file (`adapter_config.json`, `head_config.json`,
 *   `adapter_fusion_config.json`, `config.json` with model weights).
 */
export async function convertFolder(input: string, output: string, format: WeightsFormat): Promise<WrittenWeights[]> {
  if (resolve(input) === resolve(output)) throw new CliError('convert: OUT must be another folder than IN');
  if (!statSync(input, { throwIfNoEntry: false })?.isDirectory()) throw new CliError(`convert: ${input} is not a folder`);
  const written: WrittenWeights[] = [];
  await convertOne(input, output, format, written);
  if (written.length === 0) {
    throw new CliError(`convert: ${input} holds no adapter, head, fusion or model weights (adapter_config.json, head_config.json, adapter_fusion_config.json or config.json next to weights)`);
  }
  return written;
}

async function convertOne(input: string, output: string, format: WeightsFormat, written: WrittenWeights[]): Promise<void> {
  const entries = readdirSync(input, { withFileTypes: true });
  const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
  const kinds = KINDS.filter((k) => files.has(k.config) && (k.what !== 'model' || [...files].some((f) => k.isWeights(f))));
  const out: Record<string, Uint8Array | string> = {};
  for (const k of kinds) {
    const tensors = await k.read(input);
    const bytes = serializeWeights(Object.fromEntries(tensors), format, k.names);
    Object.assign(out, bytes);
    for (const f of Object.keys(bytes)) written.push({ path: join(output, f), what: k.what, tensors: tensors.size, readers: weightsFileReaders(f) });
  }
  for (const f of files) {
    if (kinds.some((k) => k.isWeights(f))) continue;
    out[f] = readFileSync(join(input, f));
  }
  if (Object.keys(out).length > 0) await writeFilesAtomic(output, out);
  for (const e of entries) if (e.isDirectory()) await convertOne(join(input, e.name), join(output, e.name), format, written);
}
