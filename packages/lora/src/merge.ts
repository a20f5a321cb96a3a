import { AdapterStateError, type AdapterModel } from '@adapterkit/core';
import { LoRAInstance } from './instance';

/** The LoRA member of an adapter, or undefined if it has none. */
export function loraInstanceOf(model: AdapterModel, name: string): LoRAInstance | undefined {
  return model.requireAdapter(name).members.map((m) => m.instance).find((i): i is LoRAInstance => i instanceof LoRAInstance);
}

function requireLoRA(model: AdapterModel, name: string): LoRAInstance {
  const instance = loraInstanceOf(model, name);
  if (!instance) throw new AdapterStateError('NOT_LORA', `Adapter '${name}' has no LoRA / (IA)³ part to merge`);
  return instance;
}

/**
 * Fold a LoRA / (IA)³ adapter into the frozen base weights (`model.host.parameters`), so a forward costs no more
 * than the base model's:
 * - add (LoRA): `W ← W + (α/r)·B·A`;
 * - scale ((IA)³): `W ← W ⊙ (α/r)·ℓ` **and** `b ← b ⊙ (α/r)·ℓ`, so merged and unmerged outputs agree (the reference
 *   scales only W and its merged outputs differ when biases are non-zero).
 *
 * The adapter stays registered, and active if it was: while merged its handlers pass through (the weights carry
 * the update), so outputs equal the unmerged ones up to float rounding. A forward in training mode throws while
 * merged. Merging an already merged adapter does nothing. When the adapter leaves the active setup
 * (`setActiveAdapters` without it) it is un-merged automatically, as the reference's `set_active_adapters` does.
 *
 * @throws AdapterStateError `LORA_GATED_MERGE` for a gated adapter (`use_gating`), `LORA_ALREADY_MERGED` when
 *   another adapter is merged into one of the same layers, `NOT_LORA` when the adapter has no LoRA part.
 */
export function mergeAdapter(model: AdapterModel, name: string): void {
  requireLoRA(model, name).merge(model.host.parameters);
}

/**
 * Undo {@link mergeAdapter}: restore the base weights bit-exactly from the copies taken at merge time (no
 * subtraction, so no float error accumulates). With `name`, only that adapter; without, every merged adapter.
 */
export function resetAdapter(model: AdapterModel, name?: string): void {
  const names = name === undefined ? model.adapterNames() : [name];
  for (const n of names) {
    const instance = name === undefined ? loraInstanceOf(model, n) : requireLoRA(model, n);
    instance?.unmerge();
  }
}

/** Whether a LoRA adapter is currently merged into the base weights. */
export function isAdapterMerged(model: AdapterModel, name: string): boolean {
  return requireLoRA(model, name).isMerged;
}
