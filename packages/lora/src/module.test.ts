import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { ParamCollector, Rng } from '@adapterkit/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { LoRAConfig } from './lora-config';
import { LoRAModule } from './module';
import type { LoRASite } from './sites';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A fused projection: in 4, out 6 = 3 slots of 2, LoRA on slots 0 and 2 (q, v).
const SITE: LoRASite = { point: 'attention.projection', payloadSite: 'qkv', moduleSite: 'attention.qkv', layer: 0, modulePath: 'h.0.attn.c_attn', inDim: 4, outDim: 6, slots: [true, false, true] };
const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/** The reference's MergedLinear forward written out element by element (memory layouts: A [in, r·n], B [r, d·n]). */
function reference(m: LoRAModule, x: number[][][], y: number[][][]): number[][][] {
  const A = m.loraA ? (m.loraA.arraySync() as number[][]) : undefined;
  const B = m.loraB.arraySync() as number[][];
  const Wg = m.gateWeight?.arraySync() as number[][] | undefined;
  const bg = m.gateBias?.arraySync() as number[] | undefined;
  const d = 2;
  const r = m.r;
  return x.map((xb, b) => {
    const gate = [0, 1].map((g) => (Wg ? xb.reduce((s, xs) => s + sigmoid(xs.reduce((t, v, i) => t + v * Wg[i]![g]!, bg![g]!)), 0) / xb.length : m.scaling));
    return xb.map((xs, s) =>
      y[b]![s]!.map((yv, o) => {
        const slot = Math.floor(o / d);
        if (slot === 1) return yv;
        const g = slot === 0 ? 0 : 1;
        const t = o % d;
        if (m.mode === 'scale') return yv * B[g * d + t]![0]! * gate[g]!;
        let delta = 0;
        for (let k = 0; k < r; k++) delta += xs.reduce((acc, v, i) => acc + v * A![i]![g * r + k]!, 0) * B[k]![g * d + t]!;
        return yv + gate[g]! * delta;
      }),
    );
  });
}

describe('LoRAModule on a fused projection', () => {
  it.each([
    ['add, gated', LoRAConfig({ r: 3, alpha: 5, useGating: true, initWeights: 'bert' })],
    ['add', LoRAConfig({ r: 3, alpha: 5, initWeights: 'bert' })],
    ['scale, gated', LoRAConfig({ r: 1, compositionMode: 'scale', useGating: true, initWeights: 'bert' })],
  ])('%s: grouped B, slot scatter and gate expansion match the reference', (_label, config) => {
    const params = new ParamCollector('t');
    const rng = new Rng(5);
    const m = new LoRAModule(SITE, config, 'a', params, rng);
    const x = tf.randomNormal([2, 3, 4], 0, 1, 'float32', 1) as tf.Tensor3D;
    const y = tf.randomNormal([2, 3, 6], 0, 1, 'float32', 2) as tf.Tensor3D;
    const out = m.apply(x, y, undefined);
    const expected = reference(m, x.arraySync(), y.arraySync());
    const got = out.arraySync();
    got.forEach((gb, b) => gb.forEach((gs, s) => gs.forEach((v, o) => expect(v).toBeCloseTo(expected[b]![s]![o]!, 5))));
    tf.dispose([x, y, out]);
    params.dispose();
  });

  it('applies dropout to the LoRA input only when training', () => {
    const params = new ParamCollector('t');
    const m = new LoRAModule(SITE, LoRAConfig({ r: 2, dropout: 0.5, initWeights: 'bert' }), 'a', params, new Rng(1));
    const x = tf.ones([1, 8, 4]) as tf.Tensor3D;
    const y = tf.zeros([1, 8, 6]) as tf.Tensor3D;
    const [evalA, evalB, train] = [m.apply(x, y, undefined), m.apply(x, y, undefined), m.apply(x, y, new Rng(5))];
    expect(Array.from(evalA.dataSync())).toEqual(Array.from(evalB.dataSync()));
    expect(Array.from(train.dataSync())).not.toEqual(Array.from(evalA.dataSync()));
    tf.dispose([x, y, evalA, evalB, train]);
    params.dispose();
  });

  it('registers the reference shapes in file layout', () => {
    const params = new ParamCollector('t');
    new LoRAModule(SITE, LoRAConfig({ r: 3, useGating: true }), 'a', params, new Rng(1));
    const shapes = params.list().map((p) => [p.key, p.layout === 'linear' ? [...p.variable.shape].reverse() : p.variable.shape]);
    expect(shapes).toEqual([
      ['h.0.attn.c_attn.loras.a.lora_A', [6, 4]],
      ['h.0.attn.c_attn.loras.a.lora_B', [4, 3]],
      ['h.0.attn.c_attn.loras.a.gate.weight', [2, 4]],
      ['h.0.attn.c_attn.loras.a.gate.bias', [2]],
    ]);
    params.dispose();
  });
});
