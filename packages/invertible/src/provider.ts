import { AdapterConfigError, getActivation } from '@adapterkit/core';
import { pyFloorDiv, type InvertibleAdapter, type InvertibleContext, type InvertibleProvider } from '@adapterkit/bottleneck';
import { couplingSplit, glowCoupling, niceCoupling } from './coupling';
import { createSubnet, type Subnet } from './subnet';

function fail(ctx: InvertibleContext, message: string): never {
  throw new AdapterConfigError('BAD_FIELD_VALUE', `Adapter '${ctx.name}': ${message}`);
}

/**
 * Builds the coupling block of one adapter: the reference's `add_invertible_adapter` (NICE or GLOW on the host's
 * hidden size, subnets with the adapter's `non_linearity` and `inv_adapter_reduction_factor`, `init_bert_weights`).
 * Parameters go under `invertible_adapters.<name>.{F,G}.{0,2}.*` (NICE) or `….{s1,s2}.{0,2}.*` (GLOW).
 */
function createInvertible(ctx: InvertibleContext): InvertibleAdapter {
  const { config, host, params, rng, keyPrefix } = ctx;
  const rf = config.invAdapterReductionFactor;
  if (rf === null) {
    fail(ctx, `inv_adapter='${config.invAdapter}' needs inv_adapter_reduction_factor (the reference fails on None too); e.g. 2.0`);
  }
  const split = couplingSplit(host.hiddenSize);
  if (split.first < 1) fail(ctx, `an invertible adapter splits the hidden features in two, but the ${host.modelType} host's hidden size is ${host.hiddenSize}`);
  const activation = getActivation(config.nonLinearity);
  const subnet = (name: string, inFeatures: number, outFeatures: number): Subnet => {
    const midFeatures = pyFloorDiv(inFeatures, rf);
    if (midFeatures < 1) {
      fail(ctx, `inv_adapter_reduction_factor=${rf} leaves subnet '${name}' no hidden units (${inFeatures} // ${rf} = ${midFeatures}); use a factor ≤ ${inFeatures}`);
    }
    return createSubnet({ params, rng, key: `${keyPrefix}.${name}`, inFeatures, midFeatures, outFeatures, activation });
  };
  switch (config.invAdapter) {
    case 'nice':
      return niceCoupling(split, subnet('F', split.second, split.first), subnet('G', split.first, split.second));
    case 'glow':
      return glowCoupling(split, subnet('s1', split.first, 2 * split.second), subnet('s2', split.second, 2 * split.first));
    default:
      return fail(ctx, `unknown inv_adapter ${JSON.stringify(config.invAdapter)} (known: 'nice', 'glow')`);
  }
}

/** The `invertible` provider: NICE and GLOW coupling blocks. */
export const invertibleProvider: InvertibleProvider = { create: createInvertible };
