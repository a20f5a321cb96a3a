import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { peftIa3, vera } from './index';

describeAdapterMethod([peftIa3], {
  title: 'peft_ia3 (separate q/k/v projections)',
  configs: [
    { config: { method: 'peft_ia3', targetSites: ['key', 'value', 'attention_output', 'output'], feedforwardSites: ['attention_output', 'output'] }, label: "PEFT's BERT default" },
    { config: { method: 'peft_ia3', targetSites: ['query', 'intermediate'], feedforwardSites: [] }, label: 'query + intermediate, output scaling' },
  ],
  hosts: ['bert', 'roberta'],
  extraPlugins: unionPlugins,
});

describeAdapterMethod([peftIa3], {
  title: 'peft_ia3 (fused q/k/v)',
  configs: [
    {
      config: { method: 'peft_ia3', targetSites: ['qkv', 'attention_output', 'intermediate', 'output'], feedforwardSites: ['output'] }, label: 'c_attn, c_proj, c_fc, mlp.c_proj',
      exclude: { configString: "the check resolves configs against a BERT host, which has no fused 'qkv' site; the same round trip is checked by the BERT configs above" },
    },
  ],
  hosts: ['gpt2'],
  extraPlugins: unionPlugins,
});

describeAdapterMethod([vera], {
  title: 'vera (separate q/k/v projections)',
  configs: [
    { config: { method: 'vera', r: 4, targetSites: ['query', 'value', 'attention_output', 'output'] }, label: 'r 4 on query, value, attention output, FFN output' },
    { config: { method: 'vera', r: 2, targetSites: ['key', 'intermediate'], veraDropout: 0.1 }, label: 'r 2 on key, intermediate, dropout' },
  ],
  hosts: ['bert', 'roberta'],
  extraPlugins: unionPlugins,
});

describeAdapterMethod([vera], {
  title: 'vera (fused q/k/v)',
  configs: [
    {
      config: { method: 'vera', r: 4, targetSites: ['qkv', 'output'] },
      label: 'c_attn, mlp.c_proj',
      exclude: { configString: "the check resolves configs against a BERT host, which has no fused 'qkv' site; the same round trip is checked by the BERT configs above" },
    },
  ],
  hosts: ['gpt2'],
  extraPlugins: unionPlugins,
});
