import * as tf from '@tensorflow/tfjs-core';
import { serializeSafetensors, toPythonJson, type AdapterModel, type SerializableTensor } from '@adapterkit/core';
import { peftIa3ModuleSite, type PeftIa3Config } from '../peft-ia3';
import type { VeraConfig } from '../vera';
import { pathPattern, PEFT_CONFIG_FILE, PEFT_KEY_PREFIX, PEFT_WEIGHTS_FILE, peftTargets, type PeftTargets } from './format';
import { VERA_SHARED } from './vera';

/** Options shared with {@link exportPeftAdapter}. */
interface Options {
  readonly keyPrefix?: string;
  readonly baseModelNameOrPath?: string | null;
}

async function entry(t: tf.Tensor, shape?: number[]): Promise<SerializableTensor> {
  return { shape: shape ?? [...t.shape], data: (await t.data()) as Float32Array };
}

/** PEFT names of the targeted sites: `target_modules` and, per site, the name PEFT's matching uses. */
function targetsOf(model: AdapterModel, sites: readonly string[]): PeftTargets {
  const groups = new Map<string, string[]>();
  for (const s of sites) {
    const paths: string[] = [];
    for (let layer = 0; layer < model.info.numLayers; layer++) paths.push(model.info.modulePath(peftIa3ModuleSite(s as never), layer)!);
    groups.set(s, paths);
  }
  const allModules = new Set([...model.host.parameters.keys()].map((k) => k.slice(0, k.lastIndexOf('.'))));
  return peftTargets(groups, allModules);
}

/** Model types whose projections are HF `Conv1D` (weights `[in, out]`), for which PEFT sets `fan_in_fan_out`. */
const CONV1D_MODEL_TYPES: ReadonlySet<string> = new Set(['gpt2']);

/**
 * PEFT files of a `vera` adapter: `base_model.vera_A` `[r, max_in]`, `base_model.vera_B` `[max_out, r]`
 * (`save_projection: true`) and `base_model.model.<path>.vera_lambda_{b,d}`; `peft_type: VERA`.
 */
export async function serializePeftVera(model: AdapterModel, name: string, config: VeraConfig, options: Options): Promise<Record<string, string | Uint8Array>> {
  const tensors: Record<string, SerializableTensor> = {};
  const suffix = `.${name}`;
  for (const p of model.adapterParams(name)) {
    const base = p.key.slice(0, -suffix.length);
    if (base === 'vera_A') tensors[VERA_SHARED.A] = await entry(p.variable);
    else if (base === 'vera_B') tensors[VERA_SHARED.B] = await entry(p.variable);
    else tensors[`${PEFT_KEY_PREFIX}${options.keyPrefix ?? ''}${base}`] = await entry(p.variable);
  }
  const json = {
    auto_mapping: null,
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    bias: 'none',
    d_initial: config.dInitial,
    fan_in_fan_out: CONV1D_MODEL_TYPES.has(model.info.modelType),
    inference_mode: true,
    init_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    modules_to_save: null,
    peft_type: 'VERA',
    projection_prng_key: config.projectionPrngKey,
    r: config.r,
    revision: null,
    save_projection: true,
    target_modules: targetsOf(model, config.targetSites).targetModules,
    task_type: null,
    vera_dropout: config.veraDropout,
  };
  return {
    [PEFT_CONFIG_FILE]: toPythonJson(json, { indent: 2, sortKeys: true, floatKeys: (path) => path.length === 1 && (path[0] === 'vera_dropout' || path[0] === 'd_initial') }),
    [PEFT_WEIGHTS_FILE]: serializeSafetensors(tensors),
  };
}

/**
 * PEFT files of a `peft_ia3` adapter: `base_model.model.<path>.ia3_l` `[out, 1]`, or `[1, in]` for the feed-forward
 * sites, listed in `feedforward_modules` under the same names as in `target_modules`.
 */
export async function serializePeftIa3(model: AdapterModel, name: string, config: PeftIa3Config, options: Options): Promise<Record<string, string | Uint8Array>> {
  const tensors: Record<string, SerializableTensor> = {};
  const ffPaths = new Set<string>();
  for (const s of config.feedforwardSites) for (let l = 0; l < model.info.numLayers; l++) ffPaths.add(model.info.modulePath(peftIa3ModuleSite(s), l)!);
  const suffix = `.ia3_l.${name}`;
  for (const p of model.adapterParams(name)) {
    const path = p.key.slice(0, -suffix.length);
    const n = p.variable.size;
    tensors[`${PEFT_KEY_PREFIX}${options.keyPrefix ?? ''}${path}.ia3_l`] = await entry(p.variable, ffPaths.has(path) ? [1, n] : [n, 1]);
  }
  const targets = targetsOf(model, config.targetSites);
  // PEFT: a list is matched with a plain `endswith` (no dot boundary), a string with re.fullmatch. Use the list
  // unless one of its names would also flag a targeted non-feed-forward module.
  const ffList = [...new Set(config.feedforwardSites.map((s) => targets.patternKeys.get(s)!))];
  const nonFf = config.targetSites.filter((s) => !config.feedforwardSites.includes(s));
  const clash =
    typeof targets.targetModules === 'string' ||
    nonFf.some((s) => Array.from({ length: model.info.numLayers }, (_, l) => model.info.modulePath(peftIa3ModuleSite(s), l)!).some((p) => ffList.some((n) => p.endsWith(n))));
  const ffRegex = `(.*\\.)?(${config.feedforwardSites.map((s) => pathPattern(model.info.modulePath(peftIa3ModuleSite(s), 0)!)).join('|')})`;
  const feedforward = config.feedforwardSites.length === 0 ? [] : clash ? ffRegex : ffList;
  const json = {
    auto_mapping: null,
    base_model_name_or_path: options.baseModelNameOrPath ?? null,
    fan_in_fan_out: CONV1D_MODEL_TYPES.has(model.info.modelType),
    feedforward_modules: feedforward,
    inference_mode: true,
    init_ia3_weights: true,
    modules_to_save: null,
    peft_type: 'IA3',
    revision: null,
    target_modules: targets.targetModules,
    task_type: null,
  };
  return {
    [PEFT_CONFIG_FILE]: toPythonJson(json, { indent: 2, sortKeys: true }),
    [PEFT_WEIGHTS_FILE]: serializeSafetensors(tensors),
  };
}
