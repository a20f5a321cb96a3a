import {
  refLabel,
  toSource,
  type FileRef,
  type SourceInput,
  assignAdapterWeights,
  buildConfig,
  CapabilityError,
  FileFormatError,
  findWeightsFile,
  readJsonObject,
  readWeightsFile,
  WeightsMismatchError,
  type AdapterModel,
  type AddAdapterOptions,
  type ModuleSite,
  type TensorEntry,
} from '@adapterkit/core';
import type { LoRAConfig } from '../config';
import { allLoraSites, LORA_EXTRA_LAYER_SITES, LORA_MODULE_SITES } from '../sites';
import { convertIa3, convertLora, type PeftModule } from './convert';
import { PEFT_CONFIG_FILE, PEFT_KEY_PREFIX, PEFT_SUFFIX, PEFT_WEIGHTS_FILE } from './format';
import { importPeftVera } from './vera';
import { importPeftIa3, needsPeftIa3 } from './ia3';
import { mat, type Mat } from './matrix';

/** Options of {@link importPeftAdapter}. */
export interface ImportPeftOptions extends AddAdapterOptions {
  /** Name of the new adapter (PEFT files carry none). Default `'default'`, PEFT's default adapter name. */
  readonly name?: string;
  /** Weights file to read instead of the directory's `adapter_model.safetensors` (else `adapter_model.bin`). */
  readonly weightsPath?: string | FileRef;
}

const findWeights = (dir: SourceInput): Promise<FileRef> =>
  findWeightsFile(dir, {
    candidates: [PEFT_WEIGHTS_FILE],
    torchFile: 'adapter_model.bin',
    what: 'PEFT weights',
  });

/** Group the PEFT weight tensors by the module they wrap; every key must map to a module LoRA can wrap. */
function collectModules(model: AdapterModel, peft: Record<string, unknown>, tensors: Map<string, TensorEntry>, source: string): PeftModule[] {
  const info = model.info;
  const where = new Map<string, { site: ModuleSite; layer: number }>();
  const sites: readonly ModuleSite[] = peft['peft_type'] === 'IA3' ? [...LORA_MODULE_SITES, 'attention.outputProjection'] : [...LORA_MODULE_SITES, ...LORA_EXTRA_LAYER_SITES];
  for (let layer = 0; layer < info.numLayers; layer++) {
    for (const site of sites) {
      const p = info.modulePath(site, layer);
      if (p !== undefined) where.set(p, { site, layer });
    }
  }
  const pooler = peft['peft_type'] === 'IA3' ? undefined : info.modulePath('pooler', 0);
  if (pooler !== undefined) where.set(pooler, { site: 'pooler', layer: -1 });
  const kinds =
    peft['peft_type'] === 'IA3'
      ? ([['l', PEFT_SUFFIX.ia3]] as const)
      : ([['A', PEFT_SUFFIX.A], ['B', PEFT_SUFFIX.B], ['m', PEFT_SUFFIX.magnitude]] as const);
  const basePrefix = `${info.baseModelPrefix}.`;
  const modules = new Map<string, PeftModule>();
  const problems: string[] = [];
  for (const [key, t] of tensors) {
    const kind = kinds.find(([, suffix]) => key.endsWith(suffix));
    if (!key.startsWith(PEFT_KEY_PREFIX) || !kind) {
      if (peft['modules_to_save'] != null) model.warn(`${source}: ignoring '${key}' (modules_to_save weights are not part of a LoRA adapter)`);
      else problems.push(`unexpected: ${key}`);
      continue;
    }
    const peftName = key.slice(PEFT_KEY_PREFIX.length, key.length - kind[1].length);
    const path = peftName.startsWith(basePrefix) ? peftName.slice(basePrefix.length) : peftName;
    const loc = where.get(path);
    if (!loc) {
      throw new CapabilityError(
        'PEFT_UNSUPPORTED_MODULE',
        `${source}: '${key}' targets module '${path}', which LoRA cannot wrap on ${info.modelType} (it wraps attention q/k/v and output, the FFN gate, intermediate and output dense layers, and the pooler)`,
      );
    }
    const rank = kind[0] === 'm' ? 1 : 2;
    if (t.shape.length !== rank || !(t.data instanceof Float32Array)) {
      problems.push(`${key}: expected a ${rank}-D float tensor, got ${t.dtype} [${t.shape.join(', ')}]`);
      continue;
    }
    const m = modules.get(path) ?? { path, peftName, ...loc, tensors: {} };
    (m.tensors as Record<string, Mat>)[kind[0]] = rank === 1 ? mat([1, t.shape[0]!], t.data) : mat(t.shape, t.data);
    modules.set(path, m);
  }
  if (problems.length > 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}:\n  ${problems.join('\n  ')}`);
  if (modules.size === 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}: no LoRA / (IA)³ weights found`);
  const order = (m: PeftModule): number => (m.layer < 0 ? info.numLayers : m.layer); // the pooler last
  return [...modules.values()].sort((a, b) => order(a) - order(b) || sites.indexOf(a.site) - sites.indexOf(b.site));
}

const toEntry = (m: Mat): TensorEntry => ({ dtype: 'F32', shape: [m.rows, m.cols], data: m.data });

/**
 * Read a HF PEFT adapter directory (`adapter_config.json` with `peft_type` `LORA` or `IA3`, and
 * `adapter_model.safetensors`) into a new LoRA / (IA)³ adapter with identical outputs. The wrapped modules are
 * taken from the weight keys (`base_model.model.[<base prefix>.]<module path>.lora_A.weight`, ...); layers or
 * modules the file lacks get a no-op update (and a warning). See `convertLora` / `convertIa3` for
 * how fused projections, mixed ranks and scalings are mapped.
 *
 * Nothing is registered if anything fails. Returns the adapter's name.
 *
 * VeRA files (`peft_type` `VERA`, with the shared projections saved) become a `vera` adapter (see
 * `importPeftVera`). DoRA files (`use_dora`) become a LoRA with `useDora` and the `lora_magnitude_vector`s.
 *
 * @throws FileFormatError for unsupported PEFT features (trained biases, feed-forward (IA)³, other
 *   `peft_type`s); CapabilityError for modules AdapterHub LoRA cannot wrap; WeightsMismatchError for bad shapes.
 */
export async function importPeftAdapter(model: AdapterModel, dir: SourceInput, options: ImportPeftOptions = {}): Promise<string> {
  const name = options.name ?? 'default';
  const source = toSource(dir);
  const configRef = { source, name: PEFT_CONFIG_FILE };
  const configPath = refLabel(configRef);
  const peft = await readJsonObject(configRef);
  const saved = peft['peft_type'];
  if (saved !== 'LORA' && saved !== 'IA3' && saved !== 'VERA') {
    throw new FileFormatError('PEFT_UNSUPPORTED', `${configPath}: peft_type ${JSON.stringify(saved)} is not a LoRA, VeRA or (IA)³ adapter (expected "LORA", "VERA" or "IA3")`);
  }
  const weightsRef = options.weightsPath ?? (await findWeights(source));
  const weightsPath = refLabel(weightsRef);
  const { tensors } = await readWeightsFile(weightsRef);
  if (saved === 'VERA') return importPeftVera(model, name, peft, tensors, weightsPath, options);
  const peftType = peft['peft_type'];
  const modules = collectModules(model, peft, tensors, weightsPath);
  if (peftType === 'IA3' && needsPeftIa3(modules, model.info, model.host.parameters)) return importPeftIa3(model, name, modules, weightsPath, options);
  const conversion = peftType === 'LORA' ? convertLora(peft, modules, model.info, weightsPath) : convertIa3(modules, model.info, weightsPath);

  const method = model.methods.require('lora');
  const full = buildConfig(method, conversion.preset, conversion.overrides, configPath, model.info);
  const config = full as unknown as LoRAConfig;
  const files = new Map<string, TensorEntry>();
  const missing: string[] = [];
  for (const site of allLoraSites(model.info, config)) {
    let w = conversion.weights(site);
    if (!w) {
      missing.push(site.modulePath);
      w = conversion.identity(site);
    }
    const key = `${site.modulePath}.loras.${name}`;
    if (w.A) files.set(`${key}.lora_A`, toEntry(w.A));
    files.set(`${key}.lora_B`, toEntry(w.B));
    if (w.m) files.set(`${key}.lora_magnitude_vector`, { dtype: 'F32', shape: [w.m.cols], data: w.m.data });
  }
  if (missing.length > 0) model.warn(`${weightsPath}: no PEFT weights for ${missing.join(', ')}; these get a no-op update`);

  const entry = model.createEntry(name, [{ method, config: full }], options.seed ?? 0);
  try {
    assignAdapterWeights(entry, files, weightsPath, model.warn);
  } catch (err) {
    for (const m of entry.members) m.instance.dispose?.();
    entry.params.dispose();
    throw err;
  }
  model.registerEntry(entry, options);
  return name;
}
