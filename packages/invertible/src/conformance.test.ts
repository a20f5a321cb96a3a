import { plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import { describeAdapterMethod, zeroParams } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

describeAdapterMethod(plugins, {
  configs: ['pfeiffer+inv[reduction_factor=4]', 'houlsby+inv[reduction_factor=4]', "pfeiffer+inv[reduction_factor=4,inv_adapter='glow']"],
  // The zero state: no bottleneck output and couplings whose subnets output 0 (NICE: shifts 0; GLOW: scale 1, shift 0).
  zeroInit: zeroParams(/\.adapter_up\.|^invertible_adapters\.[^.]+\.[^.]+\.2\./),
  extraPlugins: [...bottleneckPlugins, ...unionPlugins],
});
