import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as compacter } from '@adapterkit/compacter';
import { plugins as invertible } from '@adapterkit/invertible';
import { plugins as lora } from '@adapterkit/lora';
import { ALL_METHODS as PIPELINES_METHODS } from '@adapterkit/pipelines';
import { plugins as prefixTuning } from '@adapterkit/prefix-tuning';
import { plugins as promptTuning } from '@adapterkit/prompt-tuning';
import { plugins as reft } from '@adapterkit/reft';
import { plugins as union } from '@adapterkit/union';
import { describe, expect, it } from 'vitest';
import { ALL_METHODS } from './methods';

describe('the CLI method list', () => {
  it('is the list of @adapterkit/pipelines itself, not a copy', () => {
    expect(ALL_METHODS).toBe(PIPELINES_METHODS);
  });

  it('holds every plugin of the eight method packages, in the order the CLI always installed them', () => {
    const expected = [...bottleneck, ...compacter, ...invertible, ...lora, ...prefixTuning, ...promptTuning, ...reft, ...union];
    expect(ALL_METHODS).toHaveLength(expected.length);
    ALL_METHODS.forEach((m, i) => expect(m, `entry ${i} (${m.name})`).toBe(expected[i]));
    expect(new Set(ALL_METHODS).size).toBe(ALL_METHODS.length);
  });
});
