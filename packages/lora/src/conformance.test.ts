import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { lora } from './index';

describeAdapterMethod([lora], {
  configs: [
    'lora[r=4,alpha=8]',
    'ia3',
    'lora[r=2,alpha=4,attn_matrices=["q","k","v"],intermediate_lora=True,output_lora=True]',
    { config: { method: 'lora', r: 2, alpha: 2, useGating: true, intermediateLora: true }, label: 'lora with gating (object)' },
    'lora[r=2,alpha=4,use_dora=True,intermediate_lora=True]',
    'lora[r=4,alpha=8,use_rslora=True]',
    // PEFT all-linear's attention output dense (every conformance host has it; gate/pooler are host-specific)
    'lora[r=2,alpha=4,extra_modules=["attention_output"]]',
  ],
  extraPlugins: unionPlugins,
});
