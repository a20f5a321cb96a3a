import { describe, expectTypeOf, it } from 'vitest';
import type { HookPayload, SublayerPayload, ProjectionPayload, KeyValuePayload } from '../hooks/points';
import { createToyHost, createToyScaleMethod } from '../testing/toy';
import { AdapterModel } from './adapter-model';
import { defineAdapterMethod, type AdapterConfigBase } from '../method/define';

interface OtherConfig extends AdapterConfigBase {
  readonly method: 'acme/other';
  readonly rank: number;
}
const other = defineAdapterMethod<OtherConfig>({
  name: 'acme/other',
  architecture: 'other',
  fields: { rank: { type: 'int' } },
  defaults: { rank: 2 },
  hooks: [],
  meta: { package: 'acme', version: '1.0.0', apiVersion: 1 },
  create: () => ({ handlers: {} }),
});

describe('plugin typing', () => {
  it('accepts configs of installed methods only', () => {
    const model = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    model.addAdapter('a', { method: 'toy-scale', init: 2 });
    model.addAdapter('b', 'any string is checked at run time');
    // @ts-expect-error — 'acme/other' is not installed in this model
    model.addAdapter('c', { method: 'acme/other', rank: 4 });
    // @ts-expect-error — misspelt method name
    model.addAdapter('d', { method: 'toy-scal' });
    // @ts-expect-error — wrong field type
    model.addAdapter('e', { method: 'toy-scale', init: 'big' });

    const both = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod(), other] });
    both.addAdapter('c', { method: 'acme/other', rank: 4 });
  });

  it('types hook payloads per point', () => {
    expectTypeOf<HookPayload<'ffn.output'>>().toEqualTypeOf<SublayerPayload>();
    expectTypeOf<HookPayload<'attention.kv'>>().toEqualTypeOf<KeyValuePayload>();
    expectTypeOf<HookPayload<'ffn.intermediate'>>().toEqualTypeOf<ProjectionPayload<'intermediate'>>();
  });
});
