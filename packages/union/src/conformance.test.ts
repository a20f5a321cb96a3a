import { bottleneck, plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import type { ConfigInput } from '@adapterkit/core';
import { plugins as loraPlugins } from '@adapterkit/lora';
import { plugins as prefixPlugins } from '@adapterkit/prefix-tuning';
import { describeAdapterMethod } from '@adapterkit/testkit';
import { ConfigUnion, plugins } from './index';

const NO_IDENTITY = 'its prefix-tuning member has no identity state (the prefix positions are always attended)';
const mhAdapter: ConfigInput<typeof bottleneck> = { method: 'bottleneck', mhAdapter: true, outputAdapter: false, reductionFactor: 4 };

describeAdapterMethod(plugins, {
  configs: [
    { config: 'mam[prefix_length=4,bottleneck_size=8,reduction_factor=4]', exclude: { identity: NO_IDENTITY } },
    { config: 'unipelt[prefix_length=2,reduction_factor=4,r=2]', exclude: { identity: NO_IDENTITY } },
    { config: 'pfeiffer[reduction_factor=4]|lora[r=2]', label: 'pfeiffer|lora' },
    { config: ConfigUnion('lora[r=2]', mhAdapter), label: 'ConfigUnion(lora, mh_adapter bottleneck)' },
  ],
  extraPlugins: [...bottleneckPlugins, ...prefixPlugins, ...loraPlugins],
});
