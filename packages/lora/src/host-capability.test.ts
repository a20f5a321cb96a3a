import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, CapabilityError } from '@adapterkit/core';
import { conformanceInputs, createConformanceHost, maxAbsDiff, withoutHookPoints } from '@adapterkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLoRAHost, LoRAConfig, lora, plugins } from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('LoRA on a host without attention.outputProjection', () => {
  const host = createConformanceHost('bert');
  const view = withoutHookPoints(host, ['attention.outputProjection']);
  const inputs = conformanceInputs('bert');
  afterAll(() => {
    tf.dispose(Object.values(inputs));
    host.dispose();
  });

  it('the method does not declare it: it is needed only by extra_modules', () => {
    expect(lora.hooks).not.toContain('attention.outputProjection');
    expect(view.info.hookPoints.has('attention.outputProjection')).toBe(false);
  });

  it.each(['lora[r=4,alpha=8]', 'lora[r=2,attn_matrices=["q","v"],selfattn_lora=True]', 'ia3', 'lora[r=2,intermediate_lora=True,output_lora=True,use_dora=True]'])(
    '%s runs there, with the outputs it has on the full host',
    (config) => {
      const onView = new AdapterModel(view, { methods: [...plugins], warn: () => undefined });
      const onHost = new AdapterModel(host, { methods: [...plugins], warn: () => undefined });
      for (const m of [onView, onHost]) {
        m.addAdapter('a', config, { setActive: true });
        // the same non-trivial weights in both (LoRA's B starts at zero)
        m.adapterParams('a').forEach((p, i) => p.variable.assign(tf.tidy(() => tf.add(p.variable, tf.mul(tf.reshape(tf.sin(tf.range(i, i + p.variable.size)), p.variable.shape), 0.1)))));
      }
      const a = onView.forward(inputs);
      const b = onHost.forward(inputs);
      expect(maxAbsDiff(a.lastHiddenState, b.lastHiddenState)).toBe(0);
      tf.dispose([...Object.values(a), ...Object.values(b)].filter((t): t is tf.Tensor => t instanceof tf.Tensor));
      onView.deleteAdapter('a');
      onHost.deleteAdapter('a');
    },
  );

  it('extra_modules=["attention_output"] is refused there with a CapabilityError naming the hook point and the field, allocating nothing', () => {
    const m = new AdapterModel(view, { methods: [...plugins], warn: () => undefined });
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      m.addAdapter('a', 'lora[r=2,extra_modules=["attention_output"]]');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CapabilityError);
    expect((err as CapabilityError).code).toBe('MISSING_HOOK_POINT');
    expect((err as Error).message).toContain("hook point 'attention.outputProjection'");
    expect((err as Error).message).toContain("config field 'extra_modules'");
    expect((err as Error).message).toContain("'attention_output'");
    expect(m.hasAdapter('a')).toBe(false);
    expect(tf.memory().numTensors).toBe(before);
    // the full host takes it
    const full = new AdapterModel(host, { methods: [...plugins], warn: () => undefined });
    full.addAdapter('a', 'lora[r=2,extra_modules=["attention_output"]]');
    expect(full.hasAdapter('a')).toBe(true);
    full.deleteAdapter('a');
  });

  it('checkLoRAHost names the hook point of each extra module the host lacks, and passes configs without them', () => {
    expect(() => checkLoRAHost(LoRAConfig({ attnMatrices: ['q', 'v'] }), view.info)).not.toThrow();
    expect(() => checkLoRAHost(LoRAConfig({ extraModules: ['attention_output'] }), host.info)).not.toThrow();
    const noGate = withoutHookPoints(host, ['ffn.gateProjection', 'pooler.projection']);
    expect(() => checkLoRAHost(LoRAConfig({ extraModules: ['gate'] }), noGate.info)).toThrow(/hook point 'ffn\.gateProjection'.*config field|config field 'extra_modules' lists 'gate', which needs hook point 'ffn\.gateProjection'/);
    expect(() => checkLoRAHost(LoRAConfig({ extraModules: ['pooler'] }), noGate.info)).toThrow(/'pooler', which needs hook point 'pooler\.projection'/);
  });
});
