/**
 * `@adapterkit/invertible`: invertible adapters (NICE, GLOW) for MAD-X language adapters, filling the bottleneck
 * method's `invertible` extension point. An invertible adapter is a bijection on hidden states
 * `[batch, seq, hidden]`: its forward runs at `embeddings.output` (the summed embeddings on BERT/RoBERTa, the token
 * embeddings before positions on GPT-2: `HostInfo.hookPlacement`), its inverse on the hidden states entering a flex
 * LM head (`head.input`; GPT-2's static head applies none, as the reference). Install beside the bottleneck method:
 * `new AdapterModel(host, { methods: [...bottleneckPlugins, ...invertiblePlugins] })`.
 *
 * @packageDocumentation
 */
import { invertible } from './extension';

export { invertible } from './extension';
export { invertibleProvider } from './provider';
export { INVERTIBLE_PRESETS, INV_OVERRIDES, PfeifferInvConfig, HoulsbyInvConfig, SeqBnInvConfig, DoubleSeqBnInvConfig } from './config';
export { niceCoupling, glowCoupling, couplingSplit, GLOW_CLAMP, type CouplingSplit } from './coupling';
export { createSubnet, type Subnet, type SubnetSpec } from './subnet';

/** The plugins this package provides; install them after `@adapterkit/bottleneck`'s: `[...bottleneck.plugins, ...plugins]`. */
export const plugins = [invertible] as const;
