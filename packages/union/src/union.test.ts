import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterConfigError, AdapterModel, Stack, registerTrainingSupport } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as lora } from '@adapterkit/lora';
import { plugins as prefix } from '@adapterkit/prefix-tuning';
import { discoverPlugins, runParity } from '@adapterkit/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigUnion, MAMConfig, UniPELTConfig, plugins, validateConfigUnion } from './index';

const golden = fileURLToPath(new URL('../../../fixtures/golden', import.meta.url));
const methods = [...plugins, ...bottleneck, ...lora, ...prefix];

async function bert(): Promise<AdapterModel> {
  return new AdapterModel(await loadHost(`${golden}/models/bert`), { methods, warn: () => undefined });
}

describe('config unions', () => {
  beforeAll(async () => {
    await registerTrainingSupport();
    await tf.setBackend('cpu');
  });

  it('passes the golden union and mam cases', async () => {
    const { extras } = await discoverPlugins((p) => import(p));
    const lines: string[] = [];
    const r = await runParity({ goldenDir: golden, cases: 'bert/union,bert/mam', plugins: methods, extras, log: (l) => lines.push(l) });
    expect(r.passed, lines.join('\n')).toBe(2);
  });

  it('rejects the combinations the reference rejects, naming both members', async () => {
    const model = await bert();
    for (const bad of ['houlsby|parallel', 'pfeiffer|parallel', 'pfeiffer|houlsby', 'lora|ia3', 'prefix_tuning|prefix_tuning_flat']) {
      expect(() => model.addAdapter('x', bad), bad).toThrow(AdapterConfigError);
    }
    expect(() => model.addAdapter('x', 'pfeiffer|houlsby')).toThrow(/members 0 \(bottleneck\(mh_adapter=False, output_adapter=True\)\) and 1 \(bottleneck\(mh_adapter=True/);
    // valid ones
    model.addAdapter('a', 'prefix_tuning|parallel');
    model.addAdapter('b', 'pfeiffer|lora');
    model.addAdapter('c', 'lora|prefix_tuning_flat');
    model.addAdapter('d', 'bottleneck[mh_adapter=True,output_adapter=False,reduction_factor=16,non_linearity="relu"]|pfeiffer');
    model.addAdapter('e', 'pfeiffer[leave_out=[1]]|houlsby[leave_out=[0]]');
    expect(model.adapterSummary().map((r) => r.architecture)).toEqual(['union', 'union', 'union', 'union', 'union']);
    model.dispose();
  });

  it('checks leave_out placements against the host before allocating anything', async () => {
    const model = await bert(); // 2 layers
    const before = tf.memory().numTensors;
    expect(() => model.addAdapter('x', 'pfeiffer[leave_out=[0]]|pfeiffer[leave_out=[0]]')).toThrow(
      /members 0 \(bottleneck\(mh_adapter=False, output_adapter=True\)\) and 1 .* cannot be combined at layer 1 \(their leave_out lists overlap there\)/,
    );
    expect(() => model.addAdapter('x', 'pfeiffer[leave_out=[1]]|houlsby')).toThrow(/cannot be combined at layer 0 /);
    expect(() => model.addAdapter('x', 'prefix_tuning[leave_out=[0]]|prefix_tuning_flat')).toThrow(/both 'prefix_tuning' and cannot be combined at layer 1 .*cover every layer/);
    expect(model.adapterNames()).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    // disjoint placements are fine, also for two adapters of one kind
    model.addAdapter('ok', 'pfeiffer[leave_out=[0]]|pfeiffer[leave_out=[1]]');
    model.addAdapter('ok2', 'prefix_tuning[leave_out=[0]]|prefix_tuning_flat[leave_out=[1]]');
    // without a host the reference's rule applies (leave_out defers the decision)
    expect(() => validateConfigUnion(model.requireAdapter('ok').members)).not.toThrow();
    model.dispose();
  });

  it('mam and MAMConfig() are the same adapter; unipelt gates every member', async () => {
    const model = await bert();
    model.addAdapter('m1', 'mam');
    model.addAdapter('m2', MAMConfig());
    model.addAdapter('m3', ConfigUnion('prefix_tuning[bottleneck_size=800]', 'parallel'));
    const counts = model.adapterSummary().map((r) => r.numParams);
    expect(new Set(counts).size).toBe(1);
    model.addAdapter('u', UniPELTConfig());
    const members = model.requireAdapter('u').members;
    expect(members.map((m) => m.method.name)).toEqual(['prefix_tuning', 'bottleneck', 'lora']);
    expect(members.every((m) => m.config['useGating'] === true)).toBe(true);
    model.addAdapter('u2', 'unipelt');
    expect(model.requireAdapter('u2').params.count()).toBe(model.requireAdapter('u').params.count());
    expect(() => model.addAdapter('bad', 'mam[nope=1]')).toThrow(/no member of this union has a field 'nope'/);
    model.dispose();
  });

  it('a union saves, loads, and runs inside a Stack like a single adapter', async () => {
    const model = await bert();
    const inputs = { inputIds: tf.tensor2d([[5, 6, 7, 8]], [1, 4], 'int32') };
    model.addAdapter('u', 'prefix_tuning[prefix_length=4]|parallel', { seed: 3 });
    model.addAdapter('t', 'pfeiffer', { seed: 4 });
    for (const p of model.adapterParams('u')) if (p.key.includes('adapter_up')) p.variable.assign(tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', 9));
    model.setActiveAdapters(Stack('u', 't'));
    const out = model.forward(inputs).lastHiddenState;
    const dir = fileURLToPath(new URL(`../../../node_modules/.cache/union-test-${process.pid}`, import.meta.url));
    await model.saveAdapter(dir, 'u');
    const again = await bert();
    await again.loadAdapter(dir);
    again.addAdapter('t', 'pfeiffer', { seed: 4 });
    again.setActiveAdapters(Stack('u', 't'));
    const out2 = again.forward(inputs).lastHiddenState;
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(out, out2))).dataSync()[0]!)).toBeLessThan(1e-6);
    model.dispose();
    again.dispose();
  });
});
