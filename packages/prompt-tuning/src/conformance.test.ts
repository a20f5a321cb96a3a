import { describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { plugins } from './index';

// GPT-2 is left out: as in adapters 1.1 it does not support prompt tuning, so the adapter adds nothing there
// (checked in prompt-tuning.test.ts).
describeAdapterMethod(plugins, {
  configs: ['prompt_tuning[prompt_length=3]', { config: { method: 'prompt_tuning', promptLength: 2, combine: 'prefix_after_bos' }, label: 'prefix_after_bos (object)' }],
  hosts: ['bert', 'roberta'],
  exclude: {
    training:
      "the check trains the second adapter of Stack(other, adapter), and as in adapters 1.1 only the first adapter of a setup inserts its prompt; training alone is checked in prompt-tuning.test.ts",
    identity: 'prompt tuning has no identity state: the prompt positions are always attended and the output has prompt_length more positions',
  },
  extraPlugins: unionPlugins,
});
