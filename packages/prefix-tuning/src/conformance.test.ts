import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

describeAdapterMethod(plugins, {
  configs: ['prefix_tuning[prefix_length=4,bottleneck_size=8]', 'prefix_tuning_flat[prefix_length=3]', 'prefix_tuning[prefix_length=2,bottleneck_size=8,use_gating=True]'],
  exclude: {
    identity: 'prefix tuning has no identity state: the prefix positions are always attended, whatever their keys and values',
  },
  extraPlugins: unionPlugins,
});
