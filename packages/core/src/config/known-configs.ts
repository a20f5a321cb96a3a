/**
 * Config names of the reference library (and `adapters`) with the AdapterKit package that provides each, so a
 * model can say which package to install when a config string names a method that is not installed.
 */
export const KNOWN_CONFIG_PACKAGES: Readonly<Record<string, string>> = {
  bottleneck: '@adapterkit/bottleneck',
  pfeiffer: '@adapterkit/bottleneck',
  seq_bn: '@adapterkit/bottleneck',
  houlsby: '@adapterkit/bottleneck',
  double_seq_bn: '@adapterkit/bottleneck',
  parallel: '@adapterkit/bottleneck',
  par_bn: '@adapterkit/bottleneck',
  scaled_parallel: '@adapterkit/bottleneck',
  scaled_par_bn: '@adapterkit/bottleneck',
  'pfeiffer+inv': '@adapterkit/invertible',
  seq_bn_inv: '@adapterkit/invertible',
  'houlsby+inv': '@adapterkit/invertible',
  double_seq_bn_inv: '@adapterkit/invertible',
  compacter: '@adapterkit/compacter',
  'compacter++': '@adapterkit/compacter',
  prefix_tuning: '@adapterkit/prefix-tuning',
  prefix_tuning_flat: '@adapterkit/prefix-tuning',
  lora: '@adapterkit/lora',
  ia3: '@adapterkit/lora',
  prompt_tuning: '@adapterkit/prompt-tuning',
  loreft: '@adapterkit/reft',
  noreft: '@adapterkit/reft',
  direft: '@adapterkit/reft',
  mam: '@adapterkit/union',
  unipelt: '@adapterkit/union',
  union: '@adapterkit/union',
};

/** `architecture` values of adapter_config.json → the package that reads them. */
export const KNOWN_ARCHITECTURE_PACKAGES: Readonly<Record<string, string>> = {
  bottleneck: '@adapterkit/bottleneck',
  prefix_tuning: '@adapterkit/prefix-tuning',
  lora: '@adapterkit/lora',
  prompt_tuning: '@adapterkit/prompt-tuning',
  reft: '@adapterkit/reft',
  union: '@adapterkit/union',
};
