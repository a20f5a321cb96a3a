import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@adapterkit/backends';
import { defineAdapterMethod, init, type AdapterConfigBase, type AnyAdapterMethod, type HookPoint } from '@adapterkit/core';
import {
  checkAddDelete,
  checkCapability,
  checkConfigString,
  checkHooks,
  checkIdentity,
  checkLeaks,
  checkSaveLoad,
  checkTraining,
  checkUnion,
  ConformanceError,
  describeAdapterMethod,
  formatResolvedConfig,
  normalizeSuite,
  withoutHookPoints,
  createConformanceHost,
  type CaseContext,
} from './index';

interface ShiftConfig extends AdapterConfigBase {
  readonly method: 'test/shift';
  readonly init: number;
  readonly extra: unknown;
}

/** Ways the test method can be broken. */
type Flaw = 'leakPerForward' | 'leakPerAdapter' | 'notIdentity' | 'unsavedState' | 'unusedParam' | 'noHooks' | 'unusedHook';

/**
 * A small method: adds a learned vector `delta [hidden]` to the FFN sub-layer output before add & norm
 * (`<ffn.output path>.shift.<name>.delta`, zero at init). `flaw` breaks one property the suite checks.
 */
function shiftMethod(flaw?: Flaw): AnyAdapterMethod {
  const hooks: HookPoint[] = flaw === 'noHooks' ? [] : flaw === 'unusedHook' ? ['ffn.output', 'attention.kv'] : ['ffn.output'];
  return defineAdapterMethod<ShiftConfig>({
    name: 'test/shift',
    architecture: 'test/shift',
    fields: { init: { type: 'float' }, extra: { type: 'any', nullable: true } },
    defaults: { init: 0, extra: null },
    presets: { shift: {} },
    hooks,
    meta: { package: 'test-shift', version: '0.0.0', apiVersion: 1 },
    create({ name, config, host, params, rng }) {
      const suffix = flaw === 'notIdentity' ? 'offset' : 'delta';
      const deltas = Array.from({ length: host.numLayers }, (_, l) =>
        params.add(`${host.modulePath('ffn.output', l)}.shift.${name}.${suffix}`, flaw === 'notIdentity' ? tf.linspace(-1, 1, host.hiddenSize) : tf.fill([host.hiddenSize], config.init)),
      );
      const hidden = flaw === 'unsavedState' ? init.normal(rng, [host.hiddenSize], 1) : undefined;
      const stray = flaw === 'leakPerAdapter' ? tf.zeros([1]) : undefined;
      return {
        handlers: {
          'ffn.output': (layer) => (p, next) => {
            if (flaw === 'leakPerForward') tf.keep(tf.zeros([1]));
            let shift: tf.Tensor = flaw === 'unusedParam' ? tf.zeros([host.hiddenSize]) : deltas[layer]!;
            if (hidden) shift = tf.add(shift, hidden);
            return next({ ...p, hidden: tf.add(p.hidden, shift) as tf.Tensor3D });
          },
        },
        dispose: () => {
          hidden?.dispose();
          void stray;
        },
      };
    },
  });
}

/** A union validator that accepts everything (a broken `@adapterkit/union`). */
const permissiveUnion = defineAdapterMethod<AdapterConfigBase & { readonly method: 'union' }>({
  name: 'union',
  architecture: 'union',
  fields: {},
  defaults: {},
  hooks: [],
  meta: { package: 'test-union', version: '0.0.0', apiVersion: 1 },
  create: () => {
    throw new Error('not an adapter');
  },
});

function caseOf(method: AnyAdapterMethod, config: ShiftConfig | string = 'shift', host: CaseContext['host'] = 'bert', extra: AnyAdapterMethod[] = []): CaseContext {
  const suite = normalizeSuite(method, { configs: [config], hosts: [host], extraPlugins: extra });
  return { suite, config: suite.configs[0]!, host };
}

describeAdapterMethod(shiftMethod(), { configs: ['shift', 'shift[init=0.0]', { config: { method: 'test/shift', init: 0 }, label: 'object config' }], title: 'test/shift (sound)' });

describe('conformance checks catch broken methods', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('leaks per forward', async () => {
    await expect(checkLeaks(caseOf(shiftMethod('leakPerForward')))).rejects.toThrow(/20 forwards left 40 tensor\(s\) allocated \(2\.00 per forward\)/);
  });

  it('leaks per adapter', async () => {
    await expect(checkAddDelete(caseOf(shiftMethod('leakPerAdapter')))).rejects.toThrow(/round 1\) left 1 tensor/);
  });

  it('no identity state', async () => {
    await expect(checkIdentity(caseOf(shiftMethod('notIdentity')))).rejects.toThrow(/none of its parameters matches the default zero pattern/);
    const zeroed = caseOf(shiftMethod('notIdentity'));
    const withZeroInit = { ...zeroed, config: { ...zeroed.config, zeroInit: () => undefined } };
    await expect(checkIdentity(withZeroInit)).rejects.toThrow(/zero state after zeroInit differs from the base model/);
  });

  it('state outside its parameters', async () => {
    await expect(checkSaveLoad(caseOf(shiftMethod('unsavedState')))).rejects.toThrow(/outputs after save → load \(loadAs\) differ/);
  });

  it('parameters that do not train', async () => {
    await expect(checkTraining(caseOf(shiftMethod('unusedParam')))).rejects.toThrow(/none of the adapter's 2 trainable variable\(s\) reaches the loss/);
  });

  it('no declared hook points / a declared point never used', async () => {
    expect(() => checkCapability(caseOf(shiftMethod('noHooks')))).toThrow(/declare no hook points/);
    await expect(checkHooks(caseOf(shiftMethod('unusedHook')).suite)).rejects.toThrow(/never called .*test\/shift: attention\.kv/);
  });

  it('configs that do not round-trip as strings', () => {
    const ctx = caseOf(shiftMethod(), { method: 'test/shift', init: 0, extra: { f: () => 1 } });
    expect(() => checkConfigString(ctx)).toThrow(/cannot write function/);
  });

  it('unions: rejected without a validator, accepted by a broken one', async () => {
    await checkUnion(caseOf(shiftMethod())); // no union method: METHOD_NOT_INSTALLED is the expected rejection
    await expect(checkUnion(caseOf(shiftMethod(), 'shift', 'bert', [permissiveUnion]))).rejects.toThrow(/the union 'shift\|shift' failed with AdapterStateError: Parameter .* is registered twice, not an AdapterConfigError/);
  });

  it('failures are ConformanceErrors naming config and host', async () => {
    const err = await checkLeaks(caseOf(shiftMethod('leakPerForward'), 'shift', 'gpt2')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConformanceError);
    expect((err as Error).message).toMatch(/^config shift on gpt2:/);
  });
});

describe('conformance helpers', () => {
  it('rejects unknown checks, exclusions without reason and unknown hosts', () => {
    const m = shiftMethod();
    expect(() => normalizeSuite(m, { configs: ['shift'], exclude: { idenity: 'x' } as never })).toThrow(/unknown conformance check 'idenity'/);
    expect(() => normalizeSuite(m, { configs: [{ config: 'shift', exclude: { identity: ' ' } }] })).toThrow(/needs a reason/);
    expect(() => normalizeSuite(m, { configs: ['shift'], hosts: ['t5' as never] })).toThrow(/unknown host 't5'/);
    expect(() => normalizeSuite(m, { configs: [] })).toThrow(/configs is empty/);
  });

  it('merges suite and config exclusions', () => {
    const s = normalizeSuite(shiftMethod(), { configs: [{ config: 'shift', exclude: { union: 'b' } }], exclude: { identity: 'a' } });
    expect(s.configs[0]!.exclude).toEqual({ identity: 'a', union: 'b' });
  });

  it('formats resolved configs canonically', () => {
    const m = shiftMethod();
    const config = { method: 'test/shift', init: 2, extra: null } as const;
    expect(formatResolvedConfig([{ method: m, config }])).toBe('test/shift[init=2.0]');
    expect(formatResolvedConfig([{ method: m, config: { ...config, init: 0 } }])).toBe('test/shift');
  });

  it('host views lack the given hook points and leave the host alive', () => {
    const host = createConformanceHost('bert');
    const view = withoutHookPoints(host, ['ffn.output']);
    expect(view.info.hookPoints.has('ffn.output')).toBe(false);
    expect(view.info.hookPoints.has('attention.output')).toBe(true);
    expect(view.info.modulePath('ffn.output', 1)).toBe('encoder.layer.1.output');
    view.dispose();
    expect(host.wordEmbeddings.isDisposed).toBe(false);
    host.dispose();
  });
});
