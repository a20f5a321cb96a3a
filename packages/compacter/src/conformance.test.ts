import { plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

describeAdapterMethod(plugins, {
  configs: [
    'compacter++[reduction_factor=8]',
    'compacter[reduction_factor=8,phm_dim=2]',
    'compacter++[reduction_factor=4,shared_W_phm=True,factorized_phm_W=False]',
    'compacter++[reduction_factor=4,factorized_phm_rule=True,shared_phm_rule=False,phm_bias=False]',
  ],
  extraPlugins: [...bottleneckPlugins, ...unionPlugins],
});
