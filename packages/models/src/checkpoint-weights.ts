/**
 * Reading the weights of a Hugging Face checkpoint folder in any of the layouts `save_pretrained` writes:
 * `model.safetensors`, sharded safetensors (`model.safetensors.index.json` + `model-0000N-of-0000M.safetensors`),
 * `pytorch_model.bin`, sharded `.bin` (`pytorch_model.bin.index.json` + `pytorch_model-0000N-of-0000M.bin`).
 * Float16/bfloat16/float64 weights become float32 (the readers convert them).
 *
 * @packageDocumentation
 */
import { baseName, FileFormatError, readJsonObject, readWeightsFile, refLabel, toSource, type FileSource, type SourceInput, type TensorEntry } from './core';

/** The layouts {@link readCheckpointWeights} looks for, in order of preference. */
export const CHECKPOINT_WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'pytorch_model.bin', 'pytorch_model.bin.index.json'] as const;

/** Weights read from a checkpoint folder. */
export interface CheckpointWeights {
  /** HF state-dict name → tensor (float32 for every float dtype), in file order (shard by shard). */
  readonly tensors: Map<string, TensorEntry>;
  /** The file read (or the index of a sharded checkpoint), for messages. */
  readonly source: string;
}

/**
 * Reads a sharded checkpoint: the index's `weight_map` (key → shard file in the same folder) names every weight;
 * every shard is read once; a key missing from its shard, or found in two shards, is an error.
 */
async function readSharded(src: FileSource, indexName: string): Promise<CheckpointWeights> {
  const dir = src.label;
  const indexPath = refLabel({ source: src, name: indexName });
  const index = await readJsonObject({ source: src, name: indexName });
  const map = index['weight_map'];
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new FileFormatError('BAD_WEIGHTS_INDEX', `${indexPath}: no "weight_map" object`);
  const byShard = new Map<string, string[]>();
  for (const [key, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard !== baseName(shard) || /[\\/]/.test(shard) || shard === '..' || shard === '.') {
      throw new FileFormatError('BAD_WEIGHTS_INDEX', `${indexPath}: weight ${JSON.stringify(key)} names shard ${JSON.stringify(shard)}, not a file name in this folder`);
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), key]);
  }
  if (byShard.size === 0) throw new FileFormatError('BAD_WEIGHTS_INDEX', `${indexPath}: "weight_map" is empty`);
  for (const shard of byShard.keys()) {
    if (!(await src.has(shard))) throw new FileFormatError('MISSING_WEIGHTS', `${indexPath}: shard ${shard} is missing from ${dir}`);
  }
  const tensors = new Map<string, TensorEntry>();
  for (const [shard, keys] of byShard) {
    const path = refLabel({ source: src, name: shard });
    const read = (await readWeightsFile({ source: src, name: shard })).tensors;
    for (const key of keys) if (!read.has(key)) throw new FileFormatError('MISSING_WEIGHTS', `${path}: weight ${JSON.stringify(key)} of ${indexName} is not in this shard`);
    for (const [key, t] of read) {
      if (tensors.has(key)) throw new FileFormatError('DUPLICATE_WEIGHTS', `${path}: weight ${JSON.stringify(key)} is also in another shard`);
      tensors.set(key, t);
    }
  }
  return { tensors, source: indexPath };
}

/**
 * Reads the weights of a checkpoint folder from the first of {@link CHECKPOINT_WEIGHT_FILES} present.
 *
 * @throws FileFormatError `MISSING_WEIGHTS` when none is there (naming every file looked for), `BAD_WEIGHTS_INDEX`,
 *   `DUPLICATE_WEIGHTS`; SafetensorsError / TorchCheckpointError for a malformed file.
 */
export async function readCheckpointWeights(dir: SourceInput): Promise<CheckpointWeights> {
  const src = toSource(dir);
  let found: string | undefined;
  for (const f of CHECKPOINT_WEIGHT_FILES) {
    if (await src.has(f)) {
      found = f;
      break;
    }
  }
  if (!found) throw new FileFormatError('MISSING_WEIGHTS', `${src.label}: cannot read model weights: none of ${CHECKPOINT_WEIGHT_FILES.join(', ')} is there`);
  if (found.endsWith('.index.json')) return readSharded(src, found);
  return { tensors: (await readWeightsFile({ source: src, name: found })).tensors, source: refLabel({ source: src, name: found }) };
}
