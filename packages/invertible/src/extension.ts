import { defineInvertibleExtension } from '@adapterkit/bottleneck';
import packageJson from '../package.json';
import { INVERTIBLE_PRESETS } from './config';
import { invertibleProvider } from './provider';

/**
 * The extension filling the bottleneck method's `invertible` point: builds the NICE / GLOW coupling block of every
 * bottleneck adapter whose config sets `inv_adapter`, and adds the `pfeiffer+inv`, `seq_bn_inv`, `houlsby+inv` and
 * `double_seq_bn_inv` presets. Install it beside the bottleneck method: `methods: [bottleneck, invertible]`.
 */
export const invertible = defineInvertibleExtension({
  name: 'invertible',
  presets: INVERTIBLE_PRESETS,
  impl: invertibleProvider,
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
});
