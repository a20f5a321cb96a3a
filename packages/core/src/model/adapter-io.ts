import { ADAPTER_FORMAT_VERSION, adapterConfigFromJson, adapterConfigToJson } from '../config/adapter-config-json';
import { toPythonJson } from '../config/python-json';
import { AdapterConfigError, AdapterStateError, FileFormatError, WeightsMismatchError } from '../errors';
import { hostFs } from '#host-fs';
import { recoverAtomicWrites } from '../io/atomic';
import { refLabel, toSource, writeFiles, type FileRef, type SinkInput, type SourceInput } from '../io/source';
import { readJsonObject } from '../io/json';
import { findWeightsFile, readWeightsFile, serializeWeights, type WeightsFormat } from '../io/weights-file';
import { tensorEntryToTf, type TensorEntry } from '../io/safetensors';
import { companionsOf, type AdapterCompanion } from './adapter-companion';
import { disposeEntry, type AdapterEntry, type AdapterModel, type AddAdapterOptions } from './adapter-model';
import type { HostInfo } from './host';
import { fileShape, fromFileLayout, paramsToFileTensors, type NamedParam } from './params';

/** File names of the AdapterHub layout. */
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';
/** Weights file we write (the name `adapters` uses with `use_safetensors=True`). */
export const ADAPTER_WEIGHTS_FILE = 'adapter.safetensors';
/** The torch weights file adapter-transformers 3.x and `adapters` write and read. */
export const ADAPTER_WEIGHTS_BIN = 'pytorch_adapter.bin';
/** Safetensors weights file names we read, in order of preference (`adapters`, its `pytorch_` variant, PEFT). */
export const ADAPTER_WEIGHTS_CANDIDATES = ['adapter.safetensors', 'pytorch_adapter.safetensors', 'adapter_model.safetensors'] as const;
/** Torch weights file names we read when no safetensors file is there (AdapterHub, PEFT). */
export const ADAPTER_WEIGHTS_TORCH = [ADAPTER_WEIGHTS_BIN, 'adapter_model.bin'] as const;

/** Scalars an adapter being loaded may hold beyond twice its weights file (optional parameters missing there). */
const OPTIONAL_PARAMS_SLACK = 1 << 20;

/** Options of {@link saveAdapter}. */
export interface SaveAdapterOptions {
  /**
   * Prefix for every weight key (e.g. `bert.` as a `BertAdapterModel` writes). Default: the host's
   * `stateDictPrefix` (`model.` on Llama, whose reference class is `LlamaForCausalLM`), else none (bare model).
   */
  readonly keyPrefix?: string;
  /** Written as `model_name` (the HF id of the base model), default null. */
  readonly modelName?: string | null;
  /** Extra top-level keys of adapter_config.json. */
  readonly meta?: Record<string, unknown>;
  /**
   * Modules saved next to the adapter, in the same atomic write, each the one named like the adapter: pass
   * `[headCompanion]` (from `@adapterkit/training`) for the reference's `with_head=True` (`head_config.json`,
   * `model_head.safetensors`; its default, opt-in here). A companion with no module of that name adds nothing.
   */
  readonly companions?: readonly AdapterCompanion[];
  /**
   * Weights format: `safetensors` (default, `adapter.safetensors`), `bin` (`pytorch_adapter.bin`, the only format
   * adapter-transformers 3.x reads) or `both`. Companions (heads) get the same option.
   */
  readonly format?: WeightsFormat;
  /**
   * Write the adapter even when its config uses settings the AdapterHub libraries lack (the methods'
   * `adapterHubGaps`, e.g. LoRA `extra_modules`, `use_rslora`, `use_dora`): they would load such a file but compute
   * a different model, so by default the save throws `AdapterConfigError` `NOT_ADAPTERHUB_LOADABLE`. With `true` the
   * file is written for AdapterKit only (our own checkpoints and round trips); use the method's PEFT export for
   * Python. Default false.
   */
  readonly adapterKitOnly?: boolean;
}

/** Options of {@link loadAdapter}. */
export interface LoadAdapterOptions extends AddAdapterOptions {
  /** Name to load the adapter under (default: the saved name). */
  readonly loadAs?: string;
  /** Weights file to read (safetensors or torch `.bin`) instead of the one found in the directory. */
  readonly weightsPath?: string | FileRef;
  /**
   * Modules to load from the same folder under the adapter's name, each if the folder holds one: pass
   * `[headCompanion]` (from `@adapterkit/training`) for the reference's `with_head=True`. If one fails to load, the
   * adapter (and the companions loaded before it) are removed again.
   */
  readonly companions?: readonly AdapterCompanion[];
}

/** The parts of a saved module's config file (`adapter_config.json`, `head_config.json`, `adapter_fusion_config.json`). */
export interface SavedConfigDocument {
  /** The module's config dict (snake_case keys). */
  readonly config: unknown;
  readonly name: string;
  /** `model_class` (default: the host's, e.g. `BertModel`). */
  readonly modelClass?: string;
  /** `model_name` (the HF id of the base model), default null. */
  readonly modelName?: string | null | undefined;
  /** Extra top-level keys. */
  readonly meta?: Record<string, unknown> | undefined;
  /** Paths inside `config` (e.g. `['dropout_prob']`) whose numbers are written as floats (`1.0`, not `1`). */
  readonly floatPaths?: readonly (readonly string[])[];
}

/**
 * The text of a saved module's config file as the reference writes it: the config, the host's `hidden_size`,
 * `model_class`, `model_type`, `model_name`, `name` and the format `version`, keys sorted, indented by 2, floats
 * kept as floats.
 */
export function savedConfigJson(info: HostInfo, d: SavedConfigDocument): string {
  const doc: Record<string, unknown> = {
    ...(d.meta ?? {}),
    config: d.config,
    hidden_size: info.hiddenSize,
    model_class: d.modelClass ?? info.modelClass,
    model_name: d.modelName ?? null,
    model_type: info.modelType,
    name: d.name,
    version: ADAPTER_FORMAT_VERSION,
  };
  const floats = new Set((d.floatPaths ?? []).map((p) => ['config', ...p].join('/')));
  return toPythonJson(doc, { indent: 2, sortKeys: true, floatKeys: (path: string[]) => floats.has(path.join('/')) });
}

/**
 * The settings of adapter `name` that the AdapterHub libraries lack, one line each (`<method> <field>=<value>: why`),
 * from its methods' `adapterHubGaps`; empty when they load it as we do. `saveAdapter` refuses a non-empty list unless
 * `{ adapterKitOnly: true }`: check it before training to fail early, not at the final save.
 */
export function adapterHubGapsOf(model: AdapterModel, name: string): string[] {
  return model.requireAdapter(name).members.flatMap((m) => (m.method.adapterHubGaps?.(m.config) ?? []).map((g) => `${m.method.name} ${g}`));
}

/** Bytes of the files `saveAdapter` writes: the config and the weights in the format(s) asked for (exposed for tests and size reports). */
export async function serializeAdapter(model: AdapterModel, name: string, options: SaveAdapterOptions = {}): Promise<Record<string, Uint8Array | string>> {
  const entry = model.requireAdapter(name);
  if (options.adapterKitOnly !== true) {
    const gaps = adapterHubGapsOf(model, name);
    if (gaps.length > 0) {
      throw new AdapterConfigError(
        'NOT_ADAPTERHUB_LOADABLE',
        `saving adapter '${name}' in AdapterHub's layout: adapter-transformers 3.2.1 and adapters 1.1 would load this file as a different model:\n  ${gaps.join('\n  ')}\n` +
          "save it in the PEFT format instead (e.g. @adapterkit/lora's exportPeftAdapter), or pass { adapterKitOnly: true } to write a file only AdapterKit reads as saved",
      );
    }
  }
  const { dict, floatPaths } = adapterConfigToJson(entry.members);
  const json = savedConfigJson(model.info, { config: dict, name, modelName: options.modelName, meta: options.meta, floatPaths });
  const tensors = await paramsToFileTensors(entry.params.list(), options.keyPrefix ?? model.info.stateDictPrefix);
  return { [ADAPTER_CONFIG_FILE]: json, ...serializeWeights(tensors, options.format ?? 'safetensors', { safetensors: ADAPTER_WEIGHTS_FILE, bin: ADAPTER_WEIGHTS_BIN }) };
}

/**
 * Save an adapter in AdapterHub's layout (into a Node folder, a `Map` of files, or a {@link FileSink}): `adapter_config.json` (snake_case keys, floats keep `.0`) and
 * `adapter.safetensors` and/or `pytorch_adapter.bin` (`options.format`) under the reference's state-dict keys, plus the files of `options.companions` (e.g. the same-named head). Files
 * are written atomically, all of them in one step.
 *
 * @throws AdapterStateError `COMPANION_FILE_CLASH` when a companion would write a file another part writes.
 * @throws AdapterConfigError `NOT_ADAPTERHUB_LOADABLE` when the config uses settings the AdapterHub libraries would
 *   load differently (see {@link SaveAdapterOptions.adapterKitOnly}); nothing is written.
 */
export async function saveAdapter(model: AdapterModel, dir: SinkInput, name: string, options: SaveAdapterOptions = {}): Promise<void> {
  const companions = companionsOf(options);
  const files = await serializeAdapter(model, name, options);
  const owner = new Map<string, string>(Object.keys(files).map((f) => [f, `adapter '${name}'`]));
  for (const c of companions) {
    const extra = await c.serialize(model, name, options);
    for (const [file, bytes] of Object.entries(extra ?? {})) {
      const other = owner.get(file);
      if (other) throw new AdapterStateError('COMPANION_FILE_CLASH', `saving adapter '${name}': the ${c.name} companion writes '${file}', which ${other} writes too`);
      owner.set(file, `the ${c.name} companion`);
      files[file] = bytes;
    }
  }
  await writeFiles(dir, files);
}

/** Locate the weights file of an adapter directory. */
export function findAdapterWeights(dir: SourceInput): Promise<FileRef> {
  return findWeightsFile(dir, { candidates: ADAPTER_WEIGHTS_CANDIDATES, torchFile: ADAPTER_WEIGHTS_TORCH, what: 'adapter weights' });
}

/**
 * Normalise file keys: strip the host's base-model prefix (`bert.`, `transformer.`) and rename the saved adapter
 * name to `name` in every key segment.
 */
function normaliseKeys(tensors: Map<string, TensorEntry>, prefix: string, savedName: string, name: string): Map<string, TensorEntry> {
  const out = new Map<string, TensorEntry>();
  for (const [key, t] of tensors) {
    let k = prefix && key.startsWith(`${prefix}.`) ? key.slice(prefix.length + 1) : key;
    if (savedName !== name) k = k.split('.').map((s) => (s === savedName ? name : s)).join('.');
    out.set(k, t);
  }
  return out;
}

/**
 * Match file tensors to a set of parameters (by key or alias) and assign them. Everything is checked before any
 * variable is written; on mismatch one WeightsMismatchError lists every problem, naming the set by `entry.name`.
 * Takes any named parameter set: an adapter, a head, a fusion's parameter group.
 */
export function assignAdapterWeights(
  entry: Pick<AdapterEntry, 'name' | 'params'>,
  tensors: Map<string, TensorEntry>,
  source: string,
  warn: (m: string) => void,
): void {
  const plan: Array<[NamedParam, TensorEntry]> = [];
  const used = new Set<string>();
  const problems: string[] = [];
  for (const p of entry.params.list()) {
    const key = [p.key, ...p.aliases].find((k) => tensors.has(k));
    if (!key) {
      if (p.optional) warn(`${source}: '${p.key}' is missing; keeping its initial value (the reference does the same)`);
      else problems.push(`missing: ${p.key}`);
      continue;
    }
    const t = tensors.get(key)!;
    const expected = fileShape(p);
    if (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i])) {
      problems.push(`shape mismatch: ${key}: expected [${expected.join(', ')}], got [${t.shape.join(', ')}]`);
    }
    for (const k of [p.key, ...p.aliases]) used.add(k);
    plan.push([p, t]);
  }
  for (const key of tensors.keys()) {
    if (!used.has(key)) problems.push(`unexpected: ${key}`);
  }
  if (problems.length > 0) {
    throw new WeightsMismatchError('ADAPTER_WEIGHTS_MISMATCH', `${source}: weights do not match adapter '${entry.name}':\n  ${problems.join('\n  ')}`);
  }
  for (const [p, t] of plan) {
    const value = fromFileLayout(p.layout, tensorEntryToTf(t));
    p.variable.assign(value);
    value.dispose();
  }
}

/**
 * Load an adapter saved in AdapterHub's layout (by this library, `adapter-transformers` or `adapters`): reads
 * `adapter_config.json` and the weights (`adapter.safetensors`, else `pytorch_adapter.bin`; PEFT names too), validates config and weights before touching the model, and
 * registers it. Returns the adapter's name. A save into `dir` that was killed part-way is first finished or cleaned
 * up ({@link recoverAtomicWrites}), so the folder loads as either the old or the new adapter.
 */
export async function loadAdapter(model: AdapterModel, dir: SourceInput, options: LoadAdapterOptions = {}): Promise<string> {
  const companions = companionsOf(options);
  // Finish (or clean up) a save into a folder on disk that was killed part-way, so it holds one complete set of files.
  if (typeof dir === 'string' && hostFs.available && !/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) await recoverAtomicWrites(dir);
  const source = toSource(dir);
  const configRef = { source, name: ADAPTER_CONFIG_FILE };
  const configPath = refLabel(configRef);
  const doc = await readJsonObject(configRef);
  const savedName = typeof doc['name'] === 'string' ? doc['name'] : undefined;
  const name = options.loadAs ?? savedName;
  if (!name) throw new FileFormatError('BAD_ADAPTER_CONFIG', `${configPath}: no "name" (pass { loadAs })`);
  const members = adapterConfigFromJson(doc['config'], model.methods, configPath, {
    host: model.info,
    hasVersion: 'version' in doc,
    warn: model.warn,
  });
  const weightsRef = options.weightsPath ?? (await findAdapterWeights(source));
  const weightsPath = refLabel(weightsRef);
  const { tensors } = await readWeightsFile(weightsRef);
  const normalised = normaliseKeys(tensors, model.info.baseModelPrefix, savedName ?? name, name);
  // The file bounds what the config may make us allocate: every parameter is either in the file or optional (kept
  // at its initial value), so the adapter cannot need much more than the file holds.
  const fileElements = [...tensors.values()].reduce((n, t) => n + t.shape.reduce((a, d) => a * d, 1), 0);
  const entry = model.createEntry(name, members, options.seed ?? 0, { maxElements: 2 * fileElements + OPTIONAL_PARAMS_SLACK });
  try {
    assignAdapterWeights(entry, normalised, weightsPath, model.warn);
  } catch (err) {
    disposeEntry(entry);
    throw err;
  }
  model.registerEntry(entry, options);
  const loaded: AdapterCompanion[] = [];
  try {
    for (const c of companions) if (await c.load(model, source, name, options)) loaded.push(c);
  } catch (err) {
    for (const c of loaded.reverse()) c.remove(model, name);
    model.deleteAdapter(name);
    throw err;
  }
  return name;
}
