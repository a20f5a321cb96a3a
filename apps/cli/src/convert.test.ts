import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { NO_HOOKS, readWeightsFile } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseDir, GOLDEN_BERT, runMain } from './test-helpers';

let tmp: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-convert-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function sameTensors(a: string, b: string): Promise<void> {
  const [x, y] = [(await readWeightsFile(a)).tensors, (await readWeightsFile(b)).tensors];
  expect([...x.keys()].sort()).toEqual([...y.keys()].sort());
  for (const [k, t] of x) {
    expect(t.shape, k).toEqual(y.get(k)!.shape);
    expect(t.data, k).toEqual(y.get(k)!.data);
  }
}

describe('adapterkit convert', () => {
  it('adapter folder → bin → safetensors: the names adapter-transformers reads, same tensors, other files copied', async () => {
    const bin = join(tmp, 'pfeiffer-bin');
    const r = await runMain(['convert', caseDir('bert/pfeiffer'), bin, '--format', 'bin']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote .*pytorch_adapter\.bin: adapter, 8 tensors \(opens in adapter-transformers 3\.x, adapters, AdapterKit\)/);
    expect(readdirSync(bin).sort()).toEqual(['adapter_config.json', 'meta.json', 'output.safetensors', 'pytorch_adapter.bin']);
    await sameTensors(join(bin, 'pytorch_adapter.bin'), join(caseDir('bert/pfeiffer'), 'adapter.safetensors'));
    const st = join(tmp, 'pfeiffer-st');
    expect((await runMain(['convert', bin, st, '--format', 'safetensors'])).code).toBe(0);
    // the safetensors writer lays files out as the Python library does: byte-identical to the reference's file
    expect(readFileSync(join(st, 'adapter.safetensors')).equals(readFileSync(join(caseDir('bert/pfeiffer'), 'adapter.safetensors')))).toBe(true);
    expect(readFileSync(join(st, 'adapter_config.json'), 'utf8')).toBe(readFileSync(join(caseDir('bert/pfeiffer'), 'adapter_config.json'), 'utf8'));
  });

  it('a composition folder converts its adapters/ and fusion/ sub-folders', async () => {
    const out = join(tmp, 'fuse-both');
    const r = await runMain(['convert', caseDir('bert/comp_fuse_dynamic'), out, '--format', 'both']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, 'fusion', 'pytorch_model_adapter_fusion.bin'))).toBe(true);
    expect(existsSync(join(out, 'fusion', 'model_adapter_fusion.safetensors'))).toBe(true);
    expect(existsSync(join(out, 'fusion', 'fusion.safetensors'))).toBe(false);
    expect(existsSync(join(out, 'adapters', 'a', 'pytorch_adapter.bin'))).toBe(true);
    await sameTensors(join(out, 'fusion', 'pytorch_model_adapter_fusion.bin'), join(caseDir('bert/comp_fuse_dynamic'), 'fusion', 'fusion.safetensors'));
  });

  it('a model folder → pytorch_model.bin that loadHost reads to the same outputs', async () => {
    const out = join(tmp, 'bert-bin');
    const r = await runMain(['convert', GOLDEN_BERT, out, '--format', 'bin']);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['config.json', 'pytorch_model.bin']);
    const [a, b] = [await loadHost(out), await loadHost(GOLDEN_BERT)];
    const inputs = { inputIds: tf.tensor2d([[1, 5, 9, 2]], undefined, 'int32') };
    const [x, y] = [a.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState, b.forward(inputs, NO_HOOKS, { training: false }).lastHiddenState];
    expect(tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]).toBe(0);
    tf.dispose([x, y, inputs.inputIds]);
    a.dispose();
    b.dispose();
  });

  it('usage errors: no --format, a bad format, IN = OUT, nothing to convert', async () => {
    expect((await runMain(['convert', caseDir('bert/pfeiffer'), join(tmp, 'x')])).stderr).toMatch(/missing --format/);
    expect((await runMain(['convert', caseDir('bert/pfeiffer'), join(tmp, 'x'), '--format', 'npz'])).stderr).toMatch(/--format must be one of safetensors, bin, both/);
    expect((await runMain(['convert', caseDir('bert/pfeiffer'), caseDir('bert/pfeiffer'), '--format', 'bin'])).stderr).toMatch(/another folder/);
    const empty = join(tmp, 'notes');
    mkdirSync(empty);
    writeFileSync(join(empty, 'README.md'), 'no weights here');
    const r = await runMain(['convert', empty, join(tmp, 'y'), '--format', 'bin']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/holds no adapter, head, fusion or model weights/);
  });
});
