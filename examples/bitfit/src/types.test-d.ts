import { describe, expectTypeOf, it } from 'vitest';
import { AdapterModel, defineAdapterMethod, type AdapterConfigBase, type ConfigOf } from '@adapterkit/core';
import { createConformanceHost, describeAdapterMethod } from '@adapterkit/testkit';
import { plugins as unionPlugins } from '@adapterkit/union';
import { bitfit, plugins, type BitFitConfig } from './index';

interface OtherConfig extends AdapterConfigBase {
  readonly method: 'acme/other';
  readonly rank: number;
}
/** A method that is not installed in the models below. */
const other = defineAdapterMethod<OtherConfig>({
  name: 'acme/other',
  architecture: 'acme/other',
  fields: { rank: { type: 'int' } },
  defaults: { rank: 2 },
  hooks: [],
  meta: { package: '@acme/other', version: '1.0.0', apiVersion: 1 },
  create: () => ({ handlers: {} }),
});

describe('acme/bitfit config typing', () => {
  it('flows into addAdapter', () => {
    const model = new AdapterModel(createConformanceHost('bert'), { methods: [bitfit] });
    model.addAdapter('a', { method: 'acme/bitfit', sites: ['query', 'value'] });
    model.addAdapter('b', { method: 'acme/bitfit', leaveOut: [0] });
    model.addAdapter('c', 'bitfit[leave_out=[0]]'); // strings are checked at run time
    // @ts-expect-error — misspelt method name
    model.addAdapter('d', { method: 'acme/bitfitt' });
    // @ts-expect-error — 'acme/other' is not installed in this model
    model.addAdapter('e', { method: 'acme/other', rank: 4 });
    // @ts-expect-error — unknown site
    model.addAdapter('f', { method: 'acme/bitfit', sites: ['querry'] });
    // @ts-expect-error — wrong field type
    model.addAdapter('g', { method: 'acme/bitfit', leaveOut: 0 });

    const both = new AdapterModel(createConformanceHost('bert'), { methods: [...plugins, other] });
    both.addAdapter('e', { method: 'acme/other', rank: 4 });
    both.addAdapter('a', { method: 'acme/bitfit', sites: ['output'] });
  });

  it('types the configs of the conformance suite like addAdapter', () => {
    // Never called: registering vitest suites from a type test would be pointless; only the types matter here.
    const register = (): void => {
      describeAdapterMethod(plugins, { configs: ['bitfit', { method: 'acme/bitfit', sites: ['key'] }, { config: { method: 'acme/bitfit' }, exclude: { union: 'reason' } }] });
      // @ts-expect-error — misspelt method name
      describeAdapterMethod(plugins, { configs: [{ method: 'acme/bitfitt' }] });
      // @ts-expect-error — unknown site
      describeAdapterMethod(plugins, { configs: [{ config: { method: 'acme/bitfit', sites: ['querry'] } }] });
      // @ts-expect-error — unknown check in exclude
      describeAdapterMethod(plugins, { configs: ['bitfit'], exclude: { identiy: 'typo' } });
      // @ts-expect-error — 'acme/other' is not installed in the suite
      describeAdapterMethod(plugins, { configs: [{ method: 'acme/other', rank: 4 }], extraPlugins: unionPlugins });
      // extra plugins add their config types
      describeAdapterMethod(plugins, { configs: [{ method: 'acme/other', rank: 4 }], extraPlugins: [other] });
    };
    expectTypeOf(register).toBeFunction();
  });

  it('exposes the config type', () => {
    expectTypeOf<ConfigOf<typeof bitfit>>().toEqualTypeOf<BitFitConfig>();
    expectTypeOf<BitFitConfig['method']>().toEqualTypeOf<'acme/bitfit'>();
    expectTypeOf<BitFitConfig['sites'][number]>().toEqualTypeOf<'query' | 'key' | 'value' | 'intermediate' | 'output'>();
  });
});
