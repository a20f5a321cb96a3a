import {
  refLabel,
  toSource,
  writeFiles,
  type FileRef,
  type SinkInput,
  type SourceInput,
  assignAdapterWeights,
  FileFormatError,
  findWeightsFile,
  paramsToFileTensors,
  readJsonObject,
  readWeightsFile,
  savedConfigJson,
  serializeWeights,
  type AdapterModel,
  type TensorEntry,
  type WeightsFormat,
} from '@adapterkit/core';
import { buildFusion, registerFusion, requireFusion, type AddAdapterFusionOptions } from './api';
import { fusionConfigFromJson, fusionConfigToJson } from './config';
import { fusionAdapters, type FusionSetup } from './name';

/** Config file of a saved fusion. */
export const FUSION_CONFIG_FILE = 'adapter_fusion_config.json';
/** Weights file we write (the name `adapters` uses with `use_safetensors=True`). */
export const FUSION_WEIGHTS_FILE = 'model_adapter_fusion.safetensors';
/** The torch weights file adapter-transformers 3.x and `adapters` write and read. */
export const FUSION_WEIGHTS_BIN = 'pytorch_model_adapter_fusion.bin';

/** Options of {@link saveAdapterFusion}. */
export interface SaveAdapterFusionOptions {
  /** Prefix for every weight key (e.g. `bert.` as a `BertAdapterModel` writes). Default: none (bare model). */
  readonly keyPrefix?: string;
  /** Written as `model_name` (the HF id of the base model), default null. */
  readonly modelName?: string | null;
  /** Extra top-level keys of adapter_fusion_config.json. */
  readonly meta?: Record<string, unknown>;
  /** `safetensors` (default), `bin` (`pytorch_model_adapter_fusion.bin`, what adapter-transformers 3.x reads) or `both`. */
  readonly format?: WeightsFormat;
}

/** Bytes of the files {@link saveAdapterFusion} writes. */
export async function serializeAdapterFusion(model: AdapterModel, setup: FusionSetup, options: SaveAdapterFusionOptions = {}): Promise<Record<string, Uint8Array | string>> {
  const fusion = requireFusion(model, setup);
  const json = savedConfigJson(model.info, {
    config: fusionConfigToJson(fusion.config),
    name: fusion.name,
    modelName: options.modelName,
    meta: options.meta,
    floatPaths: [['dropout_prob']],
  });
  const tensors = await paramsToFileTensors(model.paramGroup(fusion.groupId)!.list(), options.keyPrefix);
  return { [FUSION_CONFIG_FILE]: json, ...serializeWeights(tensors, options.format ?? 'safetensors', { safetensors: FUSION_WEIGHTS_FILE, bin: FUSION_WEIGHTS_BIN }) };
}

/**
 * Save a fusion in the reference's layout (`save_adapter_fusion`): `adapter_fusion_config.json` (`config` with the
 * reference's snake_case fields, `name: "a,b"`, model fields, `version`) and `model_adapter_fusion.safetensors`
 * under `<module path>.adapter_fusion_layer.<a,b>.{query,key}.{weight,bias}`, `….value.weight`. Written atomically.
 */
export async function saveAdapterFusion(model: AdapterModel, dir: SinkInput, setup: FusionSetup, options: SaveAdapterFusionOptions = {}): Promise<void> {
  await writeFiles(dir, await serializeAdapterFusion(model, setup, options));
}

/** Options of {@link loadAdapterFusion}. */
export interface LoadAdapterFusionOptions extends AddAdapterFusionOptions {
  /** Fuse other adapters than the saved ones (`'c,d'`, same count), as the reference's `load_as`. */
  readonly loadAs?: FusionSetup;
  /** Weights file to read instead of the one found in `dir`. */
  readonly weightsPath?: string | FileRef;
}

/**
 * The weights file of a saved fusion: `model_adapter_fusion.safetensors`, else `fusion.safetensors`, else the one
 * `.safetensors` file of the directory, else `pytorch_model_adapter_fusion.bin`.
 */
export async function findFusionWeights(dir: SourceInput): Promise<FileRef> {
  const src = toSource(dir);
  const known = [FUSION_WEIGHTS_FILE, 'fusion.safetensors'];
  const files = (await src.list?.()) ?? [];
  const st = files.filter((f) => f.endsWith('.safetensors'));
  if (st.length > 1 && !known.some((f) => files.includes(f))) {
    throw new FileFormatError('AMBIGUOUS_WEIGHTS', `${src.label}: several .safetensors files (${st.join(', ')}); pass { weightsPath }`);
  }
  return findWeightsFile(src, { candidates: st.length === 1 ? [...new Set([...known, st[0]!])] : known, torchFile: FUSION_WEIGHTS_BIN, what: 'fusion weights' });
}

/** File keys without the base-model prefix (`bert.`) and with the saved fusion name replaced by `name`. */
function normaliseKeys(tensors: Map<string, TensorEntry>, prefix: string, savedName: string, name: string): Map<string, TensorEntry> {
  const out = new Map<string, TensorEntry>();
  for (const [key, t] of tensors) {
    let k = prefix && key.startsWith(`${prefix}.`) ? key.slice(prefix.length + 1) : key;
    if (savedName !== name) k = k.replace(`.adapter_fusion_layer.${savedName}.`, `.adapter_fusion_layer.${name}.`);
    out.set(k, t);
  }
  return out;
}

/**
 * Load a fusion saved by {@link saveAdapterFusion} or by adapter-transformers / `adapters` (safetensors or `.bin` weights):
 * reads `adapter_fusion_config.json` and the weights, checks every key and shape before touching the model, and
 * registers the fusion. The fused adapters must already be in the model. Returns the fusion's name (`'a,b'`).
 */
export async function loadAdapterFusion(model: AdapterModel, dir: SourceInput, options: LoadAdapterFusionOptions = {}): Promise<string> {
  const source = toSource(dir);
  const configRef = { source, name: FUSION_CONFIG_FILE };
  const configPath = refLabel(configRef);
  const doc = await readJsonObject(configRef);
  if (typeof doc['name'] !== 'string' || doc['name'].length === 0) throw new FileFormatError('BAD_FUSION_CONFIG', `${configPath}: no "name"`);
  const saved = fusionAdapters(doc['name']);
  const adapters = options.loadAs ? fusionAdapters(options.loadAs) : saved;
  if (adapters.length !== saved.length) {
    throw new FileFormatError('BAD_LOAD_AS', `${configPath}: fusion '${saved.join(',')}' fuses ${saved.length} adapters; loadAs names ${adapters.length}`);
  }
  const config = fusionConfigFromJson(doc['config'], configPath);
  const weightsRef = options.weightsPath ?? (await findFusionWeights(source));
  const weightsPath = refLabel(weightsRef);
  const { tensors } = await readWeightsFile(weightsRef);
  const built = buildFusion(model, adapters, config, options.seed);
  try {
    const entry = { name: built.fusion.name, params: built.params };
    assignAdapterWeights(entry, normaliseKeys(tensors, model.info.baseModelPrefix, saved.join(','), built.fusion.name), weightsPath, model.warn);
  } catch (err) {
    built.params.dispose();
    throw err;
  }
  return registerFusion(model, built, options);
}
