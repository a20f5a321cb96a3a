import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

describeAdapterMethod(plugins, {
  configs: [
    'pfeiffer[reduction_factor=4]',
    'houlsby[reduction_factor=4]',
    'parallel[reduction_factor=4]',
    'scaled_parallel[reduction_factor=4]',
    {
      config: { method: 'bottleneck', reductionFactor: 4, mhAdapter: true, lnBefore: true, lnAfter: true, useGating: true, scaling: 'learned', leaveOut: [] },
      label: 'custom (ln_before, ln_after, gating, learned scaling)',
    },
  ],
  extraPlugins: unionPlugins,
});
