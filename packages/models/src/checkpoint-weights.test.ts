import '@tensorflow/tfjs-backend-cpu';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, serializeSafetensors, serializeWeights } from '@adapterkit/core';
import { NO_HOOKS } from './core';
import { loadHost, readCheckpointWeights } from './index';
import { disposeInputs, goldenInputs, maxAbsDiff, modelDir, type GoldenModel } from './test-helpers';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'adapterkit-ckpt-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type FileTensors = Record<string, { shape: number[]; data: Float32Array }>;

async function goldenWeights(model: GoldenModel): Promise<FileTensors> {
  const { tensors } = await readSafetensors(join(modelDir(model), 'model.safetensors'));
  const out: FileTensors = {};
  for (const [k, t] of tensors) out[k] = { shape: t.shape, data: t.data as Float32Array };
  return out;
}

async function folder(name: string, model: GoldenModel, files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  await copyFile(join(modelDir(model), 'config.json'), join(dir, 'config.json'));
  for (const [f, b] of Object.entries(files)) await writeFile(join(dir, f), b);
  return dir;
}

/** Splits weights into two shards and an index, as `save_pretrained(max_shard_size=…)` does. */
function shards(w: FileTensors, ext: 'bin' | 'safetensors'): Record<string, Uint8Array | string> {
  const keys = Object.keys(w);
  const half = Math.ceil(keys.length / 2);
  const stem = ext === 'bin' ? 'pytorch_model' : 'model';
  const names = [`${stem}-00001-of-00002.${ext}`, `${stem}-00002-of-00002.${ext}`];
  const files: Record<string, Uint8Array | string> = {};
  const weightMap: Record<string, string> = {};
  [keys.slice(0, half), keys.slice(half)].forEach((part, i) => {
    const t = Object.fromEntries(part.map((k) => [k, w[k]!]));
    for (const k of part) weightMap[k] = names[i]!;
    files[names[i]!] = ext === 'bin' ? serializeWeights(t, 'bin', { safetensors: 'x', bin: names[i]! })[names[i]!]! : serializeSafetensors(t);
  });
  files[ext === 'bin' ? 'pytorch_model.bin.index.json' : 'model.safetensors.index.json'] = JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap });
  return files;
}

describe('loadHost reads every checkpoint layout save_pretrained writes', () => {
  it.each(['bert', 'gpt2'] as GoldenModel[])('%s: pytorch_model.bin, sharded .bin, sharded safetensors give the same outputs as model.safetensors', async (model) => {
    const w = await goldenWeights(model);
    const layouts = {
      bin: await folder(`${model}-bin`, model, { 'pytorch_model.bin': serializeWeights(w, 'bin', { safetensors: 'x', bin: 'pytorch_model.bin' })['pytorch_model.bin']! }),
      shardedBin: await folder(`${model}-sbin`, model, shards(w, 'bin')),
      shardedSt: await folder(`${model}-sst`, model, shards(w, 'safetensors')),
    };
    const ref = await loadHost(modelDir(model));
    const inputs = await goldenInputs(model);
    const want = tf.tidy(() => ref.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
    for (const [layout, dir] of Object.entries(layouts)) {
      const host = await loadHost(dir);
      const got = tf.tidy(() => host.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState);
      expect(maxAbsDiff(got, want), layout).toBe(0);
      got.dispose();
      host.dispose();
    }
    want.dispose();
    disposeInputs(inputs);
    ref.dispose();
  });

  it('float16 and bfloat16 safetensors become float32', async () => {
    // 1.5, -2 and 0.25 are exact in both formats
    const header = JSON.stringify({ a: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [3], data_offsets: [6, 12] } });
    const h = new TextEncoder().encode(header.padEnd(Math.ceil(header.length / 8) * 8, ' '));
    const bytes = new Uint8Array(8 + h.length + 12);
    const v = new DataView(bytes.buffer);
    v.setBigUint64(0, BigInt(h.length), true);
    bytes.set(h, 8);
    [0x3e00, 0xc000, 0x3400, 0x3fc0, 0xc000, 0x3e80].forEach((x, i) => v.setUint16(8 + h.length + 2 * i, x, true));
    const dir = await folder('half', 'bert', { 'model.safetensors': bytes });
    const { tensors } = await readCheckpointWeights(dir);
    expect(tensors.get('a')!.data).toEqual(new Float32Array([1.5, -2, 0.25]));
    expect(tensors.get('b')!.data).toEqual(new Float32Array([1.5, -2, 0.25]));
  });

  it('bad indexes and missing or duplicated shard weights are typed errors naming the file', async () => {
    const w = await goldenWeights('gpt2');
    const files = shards(w, 'safetensors');
    const index = JSON.parse(files['model.safetensors.index.json'] as string) as { weight_map: Record<string, string> };
    const k = Object.keys(index.weight_map)[0]!;
    const escape = await folder('escape', 'gpt2', { ...files, 'model.safetensors.index.json': JSON.stringify({ weight_map: { ...index.weight_map, [k]: '../x.safetensors' } }) });
    await expect(readCheckpointWeights(escape)).rejects.toMatchObject({ code: 'BAD_WEIGHTS_INDEX' });
    const moved = await folder('moved', 'gpt2', { ...files, 'model.safetensors.index.json': JSON.stringify({ weight_map: { ...index.weight_map, [k]: 'model-00002-of-00002.safetensors' } }) });
    await expect(readCheckpointWeights(moved)).rejects.toMatchObject({ code: 'MISSING_WEIGHTS', message: expect.stringContaining(k) });
    const none = await folder('none', 'gpt2', {});
    await expect(loadHost(none)).rejects.toThrow(/none of model\.safetensors, model\.safetensors\.index\.json, pytorch_model\.bin/);
  });
});
