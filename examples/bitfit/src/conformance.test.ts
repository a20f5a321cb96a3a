import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

describeAdapterMethod(plugins, {
  configs: [
    'bitfit',
    'bitfit_attn',
    {
      config: 'bitfit[leave_out=[0]]',
      exclude: { union: 'with a non-empty leave_out the union rules allow two members of one method (ConfigUnion.validate)' },
    },
    { config: { method: 'acme/bitfit', sites: ['key', 'output'] }, label: "{ sites: ['key', 'output'] } (a partial fused q/k/v delta on GPT-2)" },
  ],
  extraPlugins: unionPlugins,
});
