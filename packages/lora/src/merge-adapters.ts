import type * as tf from '@tensorflow/tfjs-core';
import { AdapterConfigError, averageAdapterParams, Rng, type AdapterModel, type CombineParams } from '@adapterkit/core';
import type { LoRAConfig } from './config';
import { dareLinear, dareTies, magnitudePruneMerge, taskArithmetic, ties, type MajoritySignMethod } from './merge-utils';

/** PEFT's `add_weighted_adapter` combination types that act on A and B separately. */
export type LoRAMergeType = 'linear' | 'ties' | 'dare_linear' | 'dare_ties' | 'magnitude_prune';

/** Options of {@link mergeAdapters}. */
export interface MergeAdaptersOptions {
  /** Default `linear` (task arithmetic). */
  readonly combinationType?: LoRAMergeType;
  /** Fraction of entries kept by the pruning types (`ties`, `dare_*`, `magnitude_prune`), in [0, 1]. Required there. */
  readonly density?: number;
  /** TIES sign election. Default `total`. */
  readonly majoritySignMethod?: MajoritySignMethod;
  /** Seed of DARE's random masks. Default 0. */
  readonly seed?: number;
  /** Divide DARE's kept entries by `density`. Default false: PEFT 0.14 discards that division (see `randomPrune`). */
  readonly dareRescale?: boolean;
  /** Replace an existing adapter named `name`. */
  readonly overwriteOk?: boolean;
  /** Activate the new adapter. */
  readonly setActive?: boolean;
}

/**
 * PEFT's `add_weighted_adapter` for LoRA with the non-SVD combination types: adds adapter `name` whose `lora_A` and
 * `lora_B` are each combined from the sources' with per-adapter weights `√(w_i · s_i)` (`s_i` the source's scaling
 * α/r, or α/√r), so that `B·A` carries `w_i · s_i`; the new adapter has the sources' config with `alpha = r`
 * (scaling 1, as PEFT sets `lora_alpha = new_rank`; with `use_rslora` PEFT's scaling then is √r, and so is ours).
 * Weights are not normalised. All sources must be LoRA (add mode, no gating, no DoRA) with the same config
 * (dropout aside), hence the same rank. With one adapter the type is `linear`, as in PEFT.
 *
 * - `linear`: `Σ v_i t_i` (task arithmetic), `v_i = √(w_i s_i)`;
 * - `magnitude_prune`: keep the `density` fraction of largest |entries| of each tensor, then `Σ v_i t_i`;
 * - `ties`: magnitude-prune, elect the majority sign per entry (`total`: sign of Σ t_i; `frequency`: of Σ sign t_i),
 *   then average the weighted entries that agree with it;
 * - `dare_linear` / `dare_ties`: random pruning (keep probability `density`) instead of magnitude pruning.
 *
 * @throws AdapterConfigError `BAD_MERGE` for negative `w_i·s_i` (PEFT would take the root of a negative number), a
 *   missing or invalid density, differing configs, or adapters that are not plain LoRA.
 */
export function mergeAdapters(model: AdapterModel, name: string, adapters: readonly string[], weights: readonly number[], options: MergeAdaptersOptions = {}): void {
  if (adapters.length === 0) throw new AdapterConfigError('BAD_MERGE', 'mergeAdapters needs at least one adapter');
  if (weights.length !== adapters.length) throw new AdapterConfigError('BAD_MERGE', `mergeAdapters got ${weights.length} weights for ${adapters.length} adapters`);
  const type: LoRAMergeType = adapters.length === 1 ? 'linear' : (options.combinationType ?? 'linear');
  const configs = adapters.map((a) => {
    const members = model.requireAdapter(a).members;
    const c = members[0]?.config as unknown as LoRAConfig | undefined;
    if (members.length !== 1 || c?.method !== 'lora' || c.compositionMode !== 'add' || c.useGating || c.useDora) {
      throw new AdapterConfigError('BAD_MERGE', `mergeAdapters merges plain LoRA adapters (add mode, no gating, no DoRA); '${a}' is not one`);
    }
    return c;
  });
  const density = options.density;
  if (type !== 'linear') {
    if (density === undefined || !(density >= 0 && density <= 1)) {
      throw new AdapterConfigError('BAD_MERGE', `combination type '${type}' needs a density in [0, 1], got ${String(density)}`);
    }
  }
  const v = configs.map((c, i) => {
    const ws = weights[i]! * (c.alpha / (c.useRslora ? Math.sqrt(c.r) : c.r));
    if (!(ws >= 0)) throw new AdapterConfigError('BAD_MERGE', `weight × scaling of '${adapters[i]}' is ${ws}; PEFT merges with √(weight × scaling), which needs it >= 0`);
    return Math.sqrt(ws);
  });
  const method = options.majoritySignMethod ?? 'total';
  const rng = new Rng(options.seed ?? 0);
  const rescale = options.dareRescale ?? false;
  const combine: CombineParams = (_key: string, tensors: readonly tf.Tensor[]) => {
    switch (type) {
      case 'linear':
        return taskArithmetic(tensors, v);
      case 'ties':
        return ties(tensors, v, density!, method);
      case 'dare_linear':
        return dareLinear(tensors, v, density!, rng, rescale);
      case 'dare_ties':
        return dareTies(tensors, v, density!, method, rng, rescale);
      case 'magnitude_prune':
        return magnitudePruneMerge(tensors, v, density!);
    }
  };
  averageAdapterParams(model, name, adapters, v, {
    normalizeWeights: false,
    combine,
    methods: ['lora'],
    caller: 'mergeAdapters',
    configOverrides: { alpha: configs[0]!.r },
    ...(options.overwriteOk ? { overwriteOk: true } : {}),
    ...(options.setActive ? { setActive: true } : {}),
  });
}
