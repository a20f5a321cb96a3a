import {
  assignAdapterWeights,
  buildConfig,
  WeightsMismatchError,
  type AdapterModel,
  type AddAdapterOptions,
  type HostInfo,
  type TensorEntry,
} from '@adapterkit/core';
import { PEFT_IA3_SITES, peftIa3ModuleSite, type PeftIa3Site } from '../peft-ia3';
import { denseDims } from '../sites';
import type { PeftModule } from './convert';

/** Whether a module's `ia3_l` `[1, in]` scales the layer input (PEFT feed-forward), not its output `[out, 1]`. */
function isFeedforward(m: PeftModule, host: HostInfo, parameters?: ReadonlyMap<string, { readonly shape: readonly number[] }>): boolean {
  const { inDim, outDim } = denseDims(host, m.site, m.layer, parameters);
  const l = m.tensors.l!;
  return l.rows === 1 && l.cols === inDim && !(outDim === 1 && inDim === 1);
}

const siteOf = (m: PeftModule): PeftIa3Site => PEFT_IA3_SITES.find((s) => peftIa3ModuleSite(s) === m.site)!;

/**
 * Whether a PEFT (IA)³ file needs `peft_ia3` (feed-forward vectors, or the attention output dense) rather than
 * AdapterHub's output-scaling (IA)³.
 */
export function needsPeftIa3(modules: readonly PeftModule[], host: HostInfo, parameters?: ReadonlyMap<string, { readonly shape: readonly number[] }>): boolean {
  return modules.some((m) => m.site === 'attention.outputProjection' || isFeedforward(m, host, parameters));
}

/**
 * A PEFT (IA)³ file as a `peft_ia3` adapter, exactly: the targeted sites and the feed-forward ones are read from
 * the weight keys and shapes (`[1, in]` = feed-forward). On BERT, PEFT's default `feedforward_modules`
 * (`output.dense`) also matches `attention.output.dense` (a suffix match without a dot boundary), so that layer's
 * vector is `[1, hidden]` and scales its input — the shapes say so, and that is what is built.
 */
export function importPeftIa3(model: AdapterModel, name: string, modules: readonly PeftModule[], source: string, options: AddAdapterOptions & { seed?: number }): string {
  const host = model.info;
  const problems: string[] = [];
  const targets = new Map<PeftIa3Site, boolean>();
  for (const m of modules) {
    const site = siteOf(m);
    const ff = isFeedforward(m, host, model.host.parameters);
    const { inDim, outDim } = denseDims(host, m.site, m.layer, model.host.parameters);
    const l = m.tensors.l!;
    if (!ff && (l.rows !== outDim || l.cols !== 1)) problems.push(`${m.peftName}.ia3_l: expected [${outDim}, 1] or [1, ${inDim}], got [${l.rows}, ${l.cols}]`);
    if (targets.has(site) && targets.get(site) !== ff) problems.push(`${m.peftName}: feed-forward in some layers and not in others`);
    targets.set(site, ff);
  }
  if (problems.length > 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}:\n  ${problems.join('\n  ')}`);
  const method = model.methods.require('peft_ia3');
  const targetSites = PEFT_IA3_SITES.filter((s) => targets.has(s));
  const full = buildConfig(method, undefined, { targetSites, feedforwardSites: targetSites.filter((s) => targets.get(s)) }, source, host);
  const files = new Map<string, TensorEntry>();
  for (const m of modules) {
    const l = m.tensors.l!;
    files.set(`${m.path}.ia3_l.${name}`, { dtype: 'F32', shape: [l.rows * l.cols], data: l.data });
  }
  const entry = model.createEntry(name, [{ method, config: full }], options.seed ?? 0);
  try {
    assignAdapterWeights(entry, files, source, model.warn);
  } catch (err) {
    for (const mem of entry.members) mem.instance.dispose?.();
    entry.params.dispose();
    throw err;
  }
  model.registerEntry(entry, options);
  return name;
}
