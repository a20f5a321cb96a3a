import type { MethodInstance } from '@adapterkit/core';
import type { BottleneckConfig } from './config';
import type { FusionRegistry } from './fusion/registry';
import type { BottleneckForwardState } from './invertible';
import type { BottleneckModule, SublayerPoint } from './sublayer';

/**
 * A live bottleneck adapter as its `create` returns it: the handlers, plus what block implementations need to
 * compose adapters themselves — the adapter's name, config and per-location modules (`module(point, layer)`: the
 * reference's `pre_forward` is `preForward(module.config, …)`, `forward` returns `(output, down, up)`, and
 * `post_forward` is `postPayload(module.config, …)`), and the AdapterFusion layers of its model.
 */
export interface BottleneckInstance extends MethodInstance<BottleneckForwardState> {
  readonly kind: 'adapterkit.bottleneck';
  readonly adapterName: string;
  readonly config: BottleneckConfig;
  /** The AdapterFusion layers of the model this adapter belongs to. */
  readonly fusions: FusionRegistry;
  /** The module at a sub-layer point and layer, or undefined (location disabled, `leave_out`). */
  module(point: SublayerPoint, layer: number): BottleneckModule | undefined;
}

/** Whether a method instance is a bottleneck adapter. */
export function isBottleneckInstance(instance: unknown): instance is BottleneckInstance {
  return (instance as Partial<BottleneckInstance> | undefined)?.kind === 'adapterkit.bottleneck';
}
