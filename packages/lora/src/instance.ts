import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterStateError,
  CapabilityError,
  type CreateContext,
  type HandlerTable,
  type HookContext,
  type MethodInstance,
  type ProjectionPayload,
} from '@adapterkit/core';
import type { LoRAConfig } from './config';
import { LoRAModule } from './module';
import { allLoraSites, type LoRAPoint } from './sites';

/** Base weights a merge changed, with bit-exact copies of their values before the merge. */
interface MergedWeight {
  readonly weight: tf.Variable;
  readonly originalWeight: tf.Tensor;
  readonly bias?: tf.Variable;
  readonly originalBias?: tf.Tensor;
}

/** Which LoRA adapter is merged into a base weight (one per dense layer). */
const MERGED_INTO = new WeakMap<tf.Variable, LoRAInstance>();

/**
 * A live LoRA / (IA)³ adapter: one {@link LoRAModule} per wrapped dense layer, handlers at the projection points,
 * and the merge state. While merged, the base weights carry the update and the handlers pass through.
 */
export class LoRAInstance implements MethodInstance {
  readonly name: string;
  readonly config: LoRAConfig;
  /** Every module, layer by layer in the reference's order. */
  readonly modules: readonly LoRAModule[];
  readonly handlers: HandlerTable;
  /** Modules by layer (model-level ones, the pooler, under key -1), hook point and payload site. */
  private readonly byLayer: Map<number, Map<LoRAPoint, Map<string, LoRAModule>>>;
  private merged: MergedWeight[] | undefined;

  constructor(ctx: CreateContext<LoRAConfig>) {
    this.name = ctx.name;
    this.config = ctx.config;
    const modules: LoRAModule[] = [];
    this.byLayer = new Map();
    for (const site of allLoraSites(ctx.host, ctx.config)) {
      const m = new LoRAModule(site, ctx.config, ctx.name, ctx.params, ctx.rng, ctx.baseParameters);
      modules.push(m);
      const points = this.byLayer.get(site.layer) ?? new Map<LoRAPoint, Map<string, LoRAModule>>();
      const bySite = points.get(site.point) ?? new Map<string, LoRAModule>();
      bySite.set(site.payloadSite, m);
      points.set(site.point, bySite);
      this.byLayer.set(site.layer, points);
    }
    this.modules = modules;
    this.handlers = {
      'attention.projection': (layer) => this.handler('attention.projection', layer),
      'attention.outputProjection': (layer) => this.handler('attention.outputProjection', layer),
      'ffn.gateProjection': (layer) => this.handler('ffn.gateProjection', layer),
      'ffn.intermediate': (layer) => this.handler('ffn.intermediate', layer),
      'ffn.outputProjection': (layer) => this.handler('ffn.outputProjection', layer),
      'pooler.projection': (layer) => this.handler('pooler.projection', layer),
    };
  }

  private handler(point: LoRAPoint, layer: number) {
    const bySite = this.byLayer.get(layer)?.get(point);
    if (!bySite) return undefined;
    return <S extends string>(p: ProjectionPayload<S>, next: (p: ProjectionPayload<S>) => tf.Tensor3D, ctx: HookContext): tf.Tensor3D => {
      const m = bySite.get(p.site);
      if (!m) return next(p);
      if (this.merged) {
        if (ctx.forward.training) {
          throw new AdapterStateError('LORA_MERGED', `LoRA adapter '${this.name}' is merged into the base weights; call resetAdapter(model) before training`);
        }
        return next(p); // the base weights already carry the update
      }
      return next({ ...p, y: m.apply(p.x, p.y, ctx.forward.rng) });
    };
  }

  /**
   * The module on the dense layer of payload site `site` (`query`, `value`, `intermediate`, …) at `point` and
   * `layer` (-1: model-level), or undefined where this adapter wraps none. Used by the row-routing blocks.
   */
  moduleAt(point: LoRAPoint, layer: number, site: string): LoRAModule | undefined {
    return this.byLayer.get(layer)?.get(point)?.get(site);
  }

  /** Whether the update is currently folded into the base weights. */
  get isMerged(): boolean {
    return this.merged !== undefined;
  }

  /**
   * Fold the update into the base weights (memory layout `[in, out]`): add mode `W += s·A·B`; scale mode
   * `W ⊙= s·ℓ` and `b ⊙= s·ℓ`. Keeps bit-exact copies of the originals for {@link unmerge}. Idempotent.
   */
  merge(parameters: ReadonlyMap<string, tf.Variable>): void {
    if (this.merged) return;
    if (this.config.useGating) {
      throw new AdapterStateError('LORA_GATED_MERGE', `LoRA adapter '${this.name}' uses gating (use_gating=True); a gated LoRA cannot be merged`);
    }
    // Check everything before changing any weight.
    const plan = this.modules.map((m) => {
      const path = m.site.modulePath;
      const weight = parameters.get(`${path}.weight`);
      if (!weight) throw new CapabilityError('MISSING_BASE_WEIGHT', `Cannot merge LoRA adapter '${this.name}': the host has no parameter '${path}.weight'`);
      if (weight.rank !== 2 || weight.shape[0] !== m.site.inDim || weight.shape[1] !== m.site.outDim) {
        throw new CapabilityError(
          'BAD_BASE_WEIGHT',
          `Cannot merge LoRA adapter '${this.name}': '${path}.weight' has memory shape [${weight.shape.join(', ')}], expected [${m.site.inDim}, ${m.site.outDim}] ([in, out])`,
        );
      }
      const owner = MERGED_INTO.get(weight);
      if (owner && owner !== this) {
        throw new AdapterStateError('LORA_ALREADY_MERGED', `Cannot merge LoRA adapter '${this.name}': '${path}' (layer ${m.site.layer}) already has adapter '${owner.name}' merged; call resetAdapter first`);
      }
      const bias = m.mode === 'scale' ? parameters.get(`${path}.bias`) : undefined;
      return { m, weight, bias };
    });
    const merged: MergedWeight[] = [];
    for (const { m, weight, bias } of plan) {
      const originalWeight = tf.clone(weight);
      const originalBias = bias ? tf.clone(bias) : undefined;
      const delta = m.mergeDelta();
      const w = m.magnitude ? m.doraWeight() : m.mode === 'add' ? tf.add(weight, delta) : tf.mul(weight, delta);
      weight.assign(w);
      w.dispose();
      if (bias) {
        const b = tf.mul(bias, delta);
        bias.assign(b);
        b.dispose();
      }
      delta.dispose();
      MERGED_INTO.set(weight, this);
      merged.push({ weight, originalWeight, ...(bias && originalBias ? { bias, originalBias } : {}) });
    }
    this.merged = merged;
  }

  /** Leaving the active setup un-merges, as the reference's `set_active_adapters` resets merged LoRA first. */
  onSetupChange(active: boolean): void {
    if (!active) this.unmerge();
  }

  /** Restore the base weights saved by {@link merge}, bit-exactly. No-op when not merged. */
  unmerge(): void {
    if (!this.merged) return;
    for (const r of this.merged) {
      r.weight.assign(r.originalWeight);
      r.originalWeight.dispose();
      if (r.bias && r.originalBias) {
        r.bias.assign(r.originalBias);
        r.originalBias.dispose();
      }
      MERGED_INTO.delete(r.weight);
    }
    this.merged = undefined;
  }

  /** Deleting a merged adapter restores the base weights first. */
  dispose(): void {
    this.unmerge();
  }
}
