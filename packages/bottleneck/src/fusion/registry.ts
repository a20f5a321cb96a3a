import type { ForwardInfo, HostInfo } from '@adapterkit/core';
import type { BottleneckLocation } from '../extensions';
import type { AdapterFusionConfig } from './config';
import type { FusionLayer } from './layer';

/** A live AdapterFusion: its config and one layer per (location, layer) where every fused adapter has the location. */
export interface Fusion {
  /** The reference's fusion name: the fused adapters joined with ',' (`a,b`). */
  readonly name: string;
  readonly adapters: readonly string[];
  readonly config: AdapterFusionConfig;
  /** Id of the model's parameter group holding the weights (`fusion:<name>`). */
  readonly groupId: string;
  /** Layers by `${location}@${layer}`. */
  readonly layers: ReadonlyMap<string, FusionLayer>;
}

/** Key of a fusion layer in {@link Fusion.layers}. */
export function fusionLayerKey(location: BottleneckLocation, layer: number): string {
  return `${location}@${layer}`;
}

/**
 * Attention probabilities recorded during one forward: fusion name → layer → location → `[batch][seq][adapters]`
 * (the reference's `adapter_fusion_attentions` with `output_adapter_fusion_attentions=True`).
 */
export type FusionAttentions = Record<string, Record<number, Partial<Record<BottleneckLocation, number[][][]>>>>;

/**
 * The AdapterFusion layers of one model. Core knows no fusion: the weights live in a parameter group of the model
 * (so they train, freeze and dispose with it), and the layers are found here by the bottleneck method's Fuse block,
 * which reaches this registry through the adapters' instances (one registry per host, i.e. per model).
 */
export class FusionRegistry {
  private readonly fusions = new Map<string, Fusion>();
  private recordAttentions = false;
  private recorded: { forward: ForwardInfo | undefined; attentions: FusionAttentions } = { forward: undefined, attentions: {} };

  get(name: string): Fusion | undefined {
    return this.fusions.get(name);
  }

  set(fusion: Fusion): void {
    this.fusions.set(fusion.name, fusion);
  }

  delete(name: string): void {
    this.fusions.delete(name);
  }

  names(): string[] {
    return [...this.fusions.keys()];
  }

  /** Turn recording of attention probabilities on or off (off by default: recording reads tensors back). */
  setRecordAttentions(on: boolean): void {
    this.recordAttentions = on;
    if (!on) this.recorded = { forward: undefined, attentions: {} };
  }

  /** Record one layer's probabilities `[batch, seq, adapters]` of the forward `forward` (a new forward starts afresh). */
  record(forward: ForwardInfo, name: string, layer: number, location: BottleneckLocation, probs: () => number[][][]): void {
    if (!this.recordAttentions) return;
    if (this.recorded.forward !== forward) this.recorded = { forward, attentions: {} };
    const byLayer = (this.recorded.attentions[name] ??= {});
    (byLayer[layer] ??= {})[location] = probs();
  }

  /** Probabilities recorded by the last forward. */
  attentions(): FusionAttentions {
    return this.recorded.attentions;
  }
}

const registries = new WeakMap<HostInfo, FusionRegistry>();

/** The fusion registry of the model whose host is described by `host` (created on first use). */
export function fusionRegistry(host: HostInfo): FusionRegistry {
  let r = registries.get(host);
  if (!r) {
    r = new FusionRegistry();
    registries.set(host, r);
  }
  return r;
}
