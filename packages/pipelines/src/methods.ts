import type { AnyAdapterMethod, MethodExtension } from '@adapterkit/core';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as compacter } from '@adapterkit/compacter';
import { plugins as invertible } from '@adapterkit/invertible';
import { plugins as lora } from '@adapterkit/lora';
import { plugins as prefixTuning } from '@adapterkit/prefix-tuning';
import { plugins as promptTuning } from '@adapterkit/prompt-tuning';
import { plugins as reft } from '@adapterkit/reft';
import { plugins as union } from '@adapterkit/union';

/** Every adapter method and extension of the AdapterKit method packages: the default of `loadPretrained`. */
export const ALL_METHODS: ReadonlyArray<AnyAdapterMethod | MethodExtension> = Object.freeze([
  ...bottleneck,
  ...compacter,
  ...invertible,
  ...lora,
  ...prefixTuning,
  ...promptTuning,
  ...reft,
  ...union,
] as ReadonlyArray<AnyAdapterMethod | MethodExtension>);
