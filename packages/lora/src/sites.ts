import { CapabilityError, type HostInfo, type ModuleSite } from '@adapterkit/core';
import type { AttnMatrix } from './config';
import type { LoRAConfig } from './config';

/** Hook points LoRA acts at. */
export type LoRAPoint = 'attention.projection' | 'attention.outputProjection' | 'ffn.gateProjection' | 'ffn.intermediate' | 'ffn.outputProjection' | 'pooler.projection';

/**
 * Dense layers beyond AdapterHub's sites that PEFT targets (`target_modules="all-linear"`): the attention output
 * dense (`attention_output`: BERT `attention.output.dense`, Llama `o_proj`), the gate of a gated FFN (`gate`: Llama
 * `gate_proj`) and the pooler dense (`pooler`: BERT `pooler.dense`, model-level).
 */
export type LoRAExtraModule = 'attention_output' | 'gate' | 'pooler';

/** Every {@link LoRAExtraModule}, with its hook point and host module site. */
export const LORA_EXTRA_MODULES: ReadonlyArray<{ readonly name: LoRAExtraModule; readonly point: LoRAPoint; readonly site: ModuleSite; readonly payload: string }> = [
  { name: 'attention_output', point: 'attention.outputProjection', site: 'attention.outputProjection', payload: 'attention_output' },
  { name: 'gate', point: 'ffn.gateProjection', site: 'ffn.gateProjection', payload: 'gate' },
  { name: 'pooler', point: 'pooler.projection', site: 'pooler', payload: 'pooler' },
];

/**
 * Check that `host` has the hook point of every {@link LoRAExtraModule} `config` uses (the only LoRA hook points not
 * in the method's static `hooks`, which every LoRA needs): a host without `attention.outputProjection` runs a q/v
 * LoRA, and refuses `extra_modules=["attention_output"]` here, before anything is allocated.
 *
 * @throws CapabilityError `MISSING_HOOK_POINT` naming the hook point, the module site and the config field.
 */
export function checkLoRAHost(config: LoRAConfig, host: HostInfo): void {
  for (const e of LORA_EXTRA_MODULES) {
    if (!config.extraModules.includes(e.name) || host.hookPoints.has(e.point)) continue;
    throw new CapabilityError(
      'MISSING_HOOK_POINT',
      `LoRA config field 'extra_modules' lists '${e.name}', which needs hook point '${e.point}' (module site '${e.site}'), which the ${host.modelType} host does not provide`,
    );
  }
}

/**
 * One dense layer that carries a LoRA module. A plain Linear has one output slot; GPT-2's fused `c_attn` has three
 * (q, k, v), of which `slots[j]` says which carry LoRA (the reference's `MergedLinear`).
 */
export interface LoRASite {
  readonly point: LoRAPoint;
  /** `site` of the hook payload: `query` | `key` | `value` | `qkv` | `intermediate` | `output`. */
  readonly payloadSite: string;
  /** Host module site (for {@link HostInfo.modulePath}). */
  readonly moduleSite: ModuleSite;
  /** Layer index, or -1 for a model-level site (the pooler). */
  readonly layer: number;
  /** Reference module path, e.g. `encoder.layer.0.attention.self.query` or `h.0.attn.c_attn`. */
  readonly modulePath: string;
  readonly inDim: number;
  readonly outDim: number;
  /** Output slots; `[true]` for a plain Linear, `[q?, k?, v?]` for a fused projection. */
  readonly slots: readonly boolean[];
}

/** Number of slots that carry LoRA (`n` of the reference's MergedLinear). */
export function enabledSlots(site: LoRASite): number {
  return site.slots.filter(Boolean).length;
}

/** The attention matrices in slot order (also the order of GPT-2's fused q/k/v output), with their sites. */
export const ATTN_SITES: ReadonlyArray<{ readonly m: AttnMatrix; readonly site: ModuleSite; readonly payload: string }> = [
  { m: 'q', site: 'attention.query', payload: 'query' },
  { m: 'k', site: 'attention.key', payload: 'key' },
  { m: 'v', site: 'attention.value', payload: 'value' },
];

function pathOf(host: HostInfo, site: ModuleSite, layer: number): string {
  const p = host.modulePath(site, layer);
  if (p === undefined) {
    throw new CapabilityError('MISSING_MODULE', `LoRA needs module site '${site}' in layer ${layer}, which the ${host.modelType} host does not have`);
  }
  return p;
}

/** Whether the host's attention uses one fused q/k/v projection (GPT-2 `c_attn`). */
function hasFusedQkv(host: HostInfo): boolean {
  return host.modulePath('attention.qkv', 0) !== undefined;
}

/** Module sites LoRA can wrap. */
export const LORA_MODULE_SITES: readonly ModuleSite[] = ['attention.query', 'attention.key', 'attention.value', 'attention.qkv', 'ffn.intermediate', 'ffn.outputProjection'];

/** Per-layer module sites of {@link LoRAExtraModule}s (the pooler is model-level). */
export const LORA_EXTRA_LAYER_SITES: readonly ModuleSite[] = ['attention.outputProjection', 'ffn.gateProjection'];

/** `[in, out]` of a wrappable dense layer of the host (its `moduleShape`, else the BERT shapes). */
export function moduleDims(host: HostInfo, site: ModuleSite, layer = 0): { inDim: number; outDim: number } {
  if (host.moduleShape) {
    const shape = host.moduleShape(site, layer);
    if (!shape) throw new CapabilityError('MISSING_MODULE', `LoRA needs module site '${site}' in layer ${layer}, which the ${host.modelType} host does not have`);
    return { inDim: shape.inDim, outDim: shape.outDim };
  }
  const H = host.hiddenSize;
  switch (site) {
    case 'attention.qkv':
      return { inDim: H, outDim: 3 * H };
    case 'ffn.intermediate':
      return { inDim: H, outDim: host.intermediateSize };
    case 'ffn.outputProjection':
      return { inDim: host.intermediateSize, outDim: H };
    case 'ffn.gateProjection':
      return { inDim: H, outDim: host.intermediateSize };
    default:
      return { inDim: H, outDim: H };
  }
}

/**
 * The dense layers a config wraps in one layer, in the reference's order: attention (q, k, v or fused qkv),
 * FFN intermediate, FFN output.
 */
export function loraSites(host: HostInfo, config: LoRAConfig, layer: number): LoRASite[] {
  const out: LoRASite[] = [];
  const site = (point: LoRAPoint, payloadSite: string, moduleSite: ModuleSite, slots: readonly boolean[]): LoRASite => ({
    point,
    payloadSite,
    moduleSite,
    layer,
    modulePath: pathOf(host, moduleSite, layer),
    ...moduleDims(host, moduleSite, layer),
    slots,
  });
  if (config.selfattnLora && config.attnMatrices.length > 0) {
    if (hasFusedQkv(host)) {
      out.push(site('attention.projection', 'qkv', 'attention.qkv', ATTN_SITES.map((a) => config.attnMatrices.includes(a.m))));
    } else {
      for (const a of ATTN_SITES) {
        if (!config.attnMatrices.includes(a.m)) continue;
        out.push(site('attention.projection', a.payload, a.site, [true]));
      }
    }
  }
  if (config.extraModules.includes('attention_output')) {
    out.push(site('attention.outputProjection', 'attention_output', 'attention.outputProjection', [true]));
  }
  if (config.extraModules.includes('gate')) {
    out.push(site('ffn.gateProjection', 'gate', 'ffn.gateProjection', [true]));
  }
  if (config.intermediateLora) {
    out.push(site('ffn.intermediate', 'intermediate', 'ffn.intermediate', [true]));
  }
  if (config.outputLora) {
    out.push(site('ffn.outputProjection', 'output', 'ffn.outputProjection', [true]));
  }
  return out;
}

/** Every dense layer a config wraps: {@link loraSites} of each layer not in `leave_out`, then the model-level pooler (layer -1). */
export function allLoraSites(host: HostInfo, config: LoRAConfig): LoRASite[] {
  const out: LoRASite[] = [];
  for (let layer = 0; layer < host.numLayers; layer++) if (!config.leaveOut.includes(layer)) out.push(...loraSites(host, config, layer));
  if (config.extraModules.includes('pooler')) {
    out.push({ point: 'pooler.projection', payloadSite: 'pooler', moduleSite: 'pooler', layer: -1, modulePath: pathOf(host, 'pooler', 0), ...moduleDims(host, 'pooler', 0), slots: [true] });
  }
  return out;
}

/**
 * `[in, out]` of a host's dense layer, from its base weight (memory `[in, out]`) when `parameters` has it — exact on
 * every host, e.g. a GQA value projection narrower than hidden — else {@link moduleDims}.
 */
export function denseDims(host: HostInfo, site: ModuleSite, layer: number, parameters?: ReadonlyMap<string, { readonly shape: readonly number[] }>): { inDim: number; outDim: number } {
  const path = host.modulePath(site, layer);
  const w = path === undefined ? undefined : parameters?.get(`${path}.weight`);
  return w && w.shape.length === 2 ? { inDim: w.shape[0]!, outDim: w.shape[1]! } : moduleDims(host, site);
}
