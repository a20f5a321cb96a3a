import { CapabilityError, type HostInfo, type ModuleSite } from '@adapterkit/core';
import type { BitFitSite } from './config';

/** Hook points BitFit acts at: the outputs of the attention projections and of the two FFN dense layers. */
export type BitFitPoint = 'attention.projection' | 'ffn.intermediate' | 'ffn.outputProjection';

/** Where a site lives: its hook point, the `site` of that point's payload, the host module, and its width on hosts that give no `moduleShape`. */
interface SiteInfo {
  readonly point: BitFitPoint;
  readonly payloadSite: string;
  readonly module: ModuleSite;
  readonly width: (host: HostInfo) => number;
}

const hidden = (host: HostInfo): number => host.hiddenSize;

const SITES: Readonly<Record<BitFitSite, SiteInfo>> = {
  query: { point: 'attention.projection', payloadSite: 'query', module: 'attention.query', width: hidden },
  key: { point: 'attention.projection', payloadSite: 'key', module: 'attention.key', width: hidden },
  value: { point: 'attention.projection', payloadSite: 'value', module: 'attention.value', width: hidden },
  intermediate: { point: 'ffn.intermediate', payloadSite: 'intermediate', module: 'ffn.intermediate', width: (host) => host.intermediateSize },
  output: { point: 'ffn.outputProjection', payloadSite: 'output', module: 'ffn.outputProjection', width: hidden },
};

/** The q/k/v sites in the order of a fused projection's output (GPT-2 `c_attn`: `[q | k | v]`). */
const QKV: readonly BitFitSite[] = ['query', 'key', 'value'];

/**
 * One dense layer that gets a bias delta. `slots` is set for a fused q/k/v projection: which thirds of its
 * `[3·hidden]` output belong to a selected site (the others keep a zero delta).
 */
export interface BiasSite {
  readonly point: BitFitPoint;
  readonly payloadSite: string;
  /** Reference module path, e.g. `encoder.layer.0.attention.self.query` or `h.0.attn.c_attn`. */
  readonly modulePath: string;
  /** Output features of the dense layer (length of the delta). */
  readonly width: number;
  readonly slots?: readonly boolean[];
}

function pathOf(host: HostInfo, module: ModuleSite, layer: number, site: string): string {
  const path = host.modulePath(module, layer);
  if (path === undefined) {
    throw new CapabilityError('MISSING_MODULE_SITE', `acme/bitfit: the ${host.modelType} host has no '${module}' module in layer ${layer} (site '${site}')`);
  }
  return path;
}

/**
 * The dense layers of one Transformer layer that the selected sites map to. On hosts with a fused q/k/v projection
 * (`attention.qkv`), query/key/value share one `[3·hidden]` delta.
 */
export function biasSites(host: HostInfo, sites: readonly BitFitSite[], layer: number): BiasSite[] {
  const out: BiasSite[] = [];
  const fused = host.modulePath('attention.qkv', layer) !== undefined;
  if (fused && sites.some((s) => QKV.includes(s))) {
    out.push({
      point: 'attention.projection',
      payloadSite: 'qkv',
      modulePath: pathOf(host, 'attention.qkv', layer, 'qkv'),
      width: 3 * host.hiddenSize,
      slots: QKV.map((s) => sites.includes(s)),
    });
  }
  for (const site of sites) {
    if (fused && QKV.includes(site)) continue;
    const info = SITES[site];
    const modulePath = pathOf(host, info.module, layer, site);
    // The host's own dense shape where it describes one (GQA key/value widths; Llama's `intermediate` site is down_proj).
    const width = host.moduleShape?.(info.module, layer)?.outDim ?? info.width(host);
    out.push({ point: info.point, payloadSite: info.payloadSite, modulePath, width });
  }
  return out;
}
