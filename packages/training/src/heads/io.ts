import {
  refLabel,
  toSource,
  writeFiles,
  type FileRef,
  type FileSource,
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
  WeightsMismatchError,
  type AdapterCompanion,
  type AdapterModel,
  type HostInfo,
  type LoadAdapterOptions,
  type SaveAdapterOptions,
  type TensorEntry,
  type WeightsFormat,
} from '@adapterkit/core';
import { headConfigFromJson, headConfigToJson } from './config';
import { getHeads, type AddHeadOptions } from './registry';

/** Config file of a saved head. */
export const HEAD_CONFIG_FILE = 'head_config.json';
/** Weights file we write: the name `adapters` uses with `use_safetensors=True`. */
export const HEAD_WEIGHTS_FILE = 'model_head.safetensors';
/** The torch weights file adapter-transformers 3.x and `adapters` write and read. */
export const HEAD_WEIGHTS_BIN = 'pytorch_model_head.bin';
/** Safetensors weights files we read, in order of preference (`head.safetensors` is the golden fixtures' name); then {@link HEAD_WEIGHTS_BIN}. */
export const HEAD_WEIGHTS_CANDIDATES = ['model_head.safetensors', 'head.safetensors'] as const;

/** The reference's flex-head model class for a host: `BertModel` → `BertAdapterModel`, `GPT2Model` → `GPT2AdapterModel`. */
export function flexModelClass(info: HostInfo): string {
  return `${info.modelClass.replace(/(LMHeadModel|Model|For[A-Za-z]+)$/, '')}AdapterModel`;
}

/** Options of {@link saveHead}. */
export interface SaveHeadOptions {
  /** Written as `model_name` (the HF id of the base model), default null. */
  readonly modelName?: string | null;
  /**
   * Also write an LM head's tied projection weight (`heads.<name>.<i>.weight` = the input embeddings), as the
   * reference does (default true). It is ignored on load; pass false for small files.
   */
  readonly tiedWeights?: boolean;
  /** `safetensors` (default, `model_head.safetensors`), `bin` (`pytorch_model_head.bin`, what adapter-transformers 3.x reads) or `both`. */
  readonly format?: WeightsFormat;
}

/** Bytes of the files {@link saveHead} writes. */
export async function serializeHead(model: AdapterModel, name: string, options: SaveHeadOptions = {}): Promise<Record<string, Uint8Array | string>> {
  const head = getHeads(model).require(name);
  const json = savedConfigJson(model.info, {
    config: headConfigToJson(head.config),
    name,
    modelClass: flexModelClass(model.info),
    modelName: options.modelName,
    floatPaths: [['dropout_prob']],
  });
  const tensors = await paramsToFileTensors(head.list());
  const tied = head.tiedWeight;
  if (tied && (options.tiedWeights ?? true)) tensors[head.tiedWeightKey!] = { shape: [...tied.shape], data: (await tied.data()) as Float32Array };
  return { [HEAD_CONFIG_FILE]: json, ...serializeWeights(tensors, options.format ?? 'safetensors', { safetensors: HEAD_WEIGHTS_FILE, bin: HEAD_WEIGHTS_BIN }) };
}

/**
 * Save a head as the reference's `save_head` does (safetensors flavour of `adapters`): `head_config.json` and
 * `model_head.safetensors` with keys `heads.<name>.<i>.{weight,bias}` (PyTorch layout). Written atomically.
 */
export async function saveHead(model: AdapterModel, dir: SinkInput, name: string, options: SaveHeadOptions = {}): Promise<void> {
  await writeFiles(dir, await serializeHead(model, name, options));
}

/** Options of {@link loadHead}. */
export interface LoadHeadOptions extends AddHeadOptions {
  /** Name to load the head under (default: the saved name). */
  readonly loadAs?: string;
  /** Weights file to read (safetensors or `.bin`) instead of the directory's `model_head.safetensors` / `head.safetensors` / `pytorch_model_head.bin`. */
  readonly weightsPath?: string | FileRef;
}

const findHeadWeights = (dir: SourceInput): Promise<FileRef> =>
  findWeightsFile(dir, { candidates: HEAD_WEIGHTS_CANDIDATES, torchFile: HEAD_WEIGHTS_BIN, what: 'head weights' });

/**
 * Load a head saved by the reference (`save_head`, `save_adapter(with_head=True)`) or by {@link saveHead}: checks
 * model type and hidden size, builds the head, assigns the weights (all checked before any variable is written;
 * an LM head's tied projection weight is ignored, the head uses the host's embeddings) and registers it (active by
 * default). Returns the head's name.
 */
export async function loadHead(model: AdapterModel, dir: SourceInput, options: LoadHeadOptions = {}): Promise<string> {
  const source = toSource(dir);
  const configRef = { source, name: HEAD_CONFIG_FILE };
  const configPath = refLabel(configRef);
  const doc = await readJsonObject(configRef);
  const info = model.info;
  const savedName = typeof doc['name'] === 'string' ? doc['name'] : undefined;
  const name = options.loadAs ?? savedName;
  if (!name) throw new FileFormatError('BAD_HEAD_CONFIG', `${configPath}: no "name" (pass { loadAs })`);
  if (doc['model_type'] !== undefined && doc['model_type'] !== info.modelType) {
    throw new FileFormatError('HEAD_MODEL_MISMATCH', `${configPath}: head was saved for model_type '${String(doc['model_type'])}', this model is '${info.modelType}'`);
  }
  if (typeof doc['hidden_size'] === 'number' && doc['hidden_size'] !== info.hiddenSize) {
    throw new FileFormatError('HEAD_MODEL_MISMATCH', `${configPath}: head was saved for hidden_size ${doc['hidden_size']}, this model has ${info.hiddenSize}`);
  }
  const cls = doc['model_class'];
  if (typeof cls === 'string' && cls !== flexModelClass(info) && !cls.endsWith('ModelWithHeads')) {
    model.warn(`${configPath}: model_class '${cls}' differs from '${flexModelClass(info)}'; loading as a flex head`);
  }
  const config = headConfigFromJson(doc['config'], configPath, info.vocabSize);
  const weightsRef = options.weightsPath ?? (await findHeadWeights(source));
  const weightsPath = refLabel(weightsRef);
  const { tensors } = await readWeightsFile(weightsRef);
  const reg = getHeads(model);
  const head = reg.build(name, config, options.seed ?? 0);
  try {
    const renamed = new Map<string, TensorEntry>();
    const from = `heads.${savedName ?? name}.`;
    for (const [key, t] of tensors) renamed.set(key.startsWith(from) ? `heads.${name}.${key.slice(from.length)}` : key, t);
    const tiedKey = head.tiedWeightKey;
    const tied = tiedKey ? renamed.get(tiedKey) : undefined;
    if (tied && tied.shape.join() !== head.tiedWeight!.shape.join()) {
      throw new WeightsMismatchError(
        'HEAD_WEIGHTS_MISMATCH',
        `${weightsPath}: shape mismatch: ${tiedKey}: expected [${head.tiedWeight!.shape.join(', ')}] (the input embeddings), got [${tied.shape.join(', ')}]`,
      );
    }
    if (tiedKey) renamed.delete(tiedKey);
    assignAdapterWeights({ name: `head:${name}`, params: head.params }, renamed, weightsPath, model.warn);
  } catch (err) {
    head.dispose();
    throw err;
  }
  reg.register(head, options);
  return name;
}

/**
 * The prediction head as an adapter companion: pass it to `@adapterkit/core`'s `saveAdapter`/`loadAdapter` as
 * `{ companions: [headCompanion] }` to save or load the head named like the adapter in the same folder, in the
 * reference's layout (`head_config.json`, `model_head.safetensors`): its `with_head=True`. Nothing is registered
 * anywhere; {@link saveAdapterWithHead}/{@link loadAdapterWithHead} are the same calls.
 */
export const headCompanion: AdapterCompanion = Object.freeze({
  name: 'prediction head',
  async serialize(model: AdapterModel, name: string, options: SaveAdapterOptions) {
    return getHeads(model).has(name) ? serializeHead(model, name, options as SaveHeadOptions) : undefined;
  },
  async load(model: AdapterModel, dir: FileSource, name: string, options: LoadAdapterOptions) {
    if (!(await dir.has(HEAD_CONFIG_FILE))) return false;
    await loadHead(model, dir, { loadAs: name, ...(options.overwriteOk !== undefined ? { overwriteOk: options.overwriteOk } : {}) });
    return true;
  },
  remove(model: AdapterModel, name: string) {
    const heads = getHeads(model);
    if (heads.has(name)) heads.delete(name);
  },
});

/**
 * Save an adapter and, if a head of the same name exists, that head into the same directory, in one atomic write
 * (the reference's `save_adapter(..., with_head=True)`; the same as
 * `model.saveAdapter(dir, name, { companions: [headCompanion] })`).
 */
export async function saveAdapterWithHead(
  model: AdapterModel,
  dir: SinkInput,
  name: string,
  options: SaveAdapterOptions & SaveHeadOptions = {},
): Promise<void> {
  await model.saveAdapter(dir, name, { ...options, companions: [...(options.companions ?? []), headCompanion] });
}

/**
 * Load an adapter and, if the directory holds a `head_config.json`, its head under the adapter's name (the
 * reference's `load_adapter(..., with_head=True)`; the same as `model.loadAdapter(dir, { companions: [headCompanion] })`).
 * If the head fails to load, the adapter is removed again. Returns the adapter's name.
 */
export async function loadAdapterWithHead(model: AdapterModel, dir: SourceInput, options: LoadAdapterOptions = {}): Promise<string> {
  return model.loadAdapter(dir, { ...options, companions: [...(options.companions ?? []), headCompanion] });
}
