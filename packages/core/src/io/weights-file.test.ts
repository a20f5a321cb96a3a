import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TorchCheckpointError } from '../errors';
import { parseSafetensors } from './safetensors';
import { refLabel } from './source';
import { findWeightsFile, readWeightsFile, serializeWeights, stateDictOrder, weightsFileReaders } from './weights-file';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapterkit-weights-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = { candidates: ['a.safetensors', 'b.safetensors'], torchFile: 'w.bin', what: 'test weights' } as const;

describe('findWeightsFile', () => {
  it('prefers the safetensors candidates in order, then the torch file; reports nothing found', async () => {
    await expect(findWeightsFile(dir, spec)).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: `${dir}: no test weights (a.safetensors or b.safetensors or w.bin)`,
    });
    await writeFile(join(dir, 'w.bin'), '');
    expect(refLabel(await findWeightsFile(dir, spec))).toBe(join(dir, 'w.bin'));
    await writeFile(join(dir, 'b.safetensors'), '');
    expect(refLabel(await findWeightsFile(dir, spec))).toBe(join(dir, 'b.safetensors'));
    await writeFile(join(dir, 'a.safetensors'), '');
    expect(refLabel(await findWeightsFile(dir, spec))).toBe(join(dir, 'a.safetensors'));
  });
});

describe('readWeightsFile / serializeWeights', () => {
  const tensors = { 'x.weight': { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) }, 'x.bias': { shape: [2], data: new Float32Array([5, 6]) } };
  it('writes safetensors, bin or both, and reads either back to the same tensors', async () => {
    const names = { safetensors: 'adapter.safetensors', bin: 'pytorch_adapter.bin' };
    expect(Object.keys(serializeWeights(tensors, 'safetensors', names))).toEqual(['adapter.safetensors']);
    expect(Object.keys(serializeWeights(tensors, 'bin', names))).toEqual(['pytorch_adapter.bin']);
    const both = serializeWeights(tensors, 'both', names);
    expect(Object.keys(both).sort()).toEqual(['adapter.safetensors', 'pytorch_adapter.bin']);
    await writeFile(join(dir, 'pytorch_adapter.bin'), both['pytorch_adapter.bin']!);
    const fromBin = await readWeightsFile(join(dir, 'pytorch_adapter.bin'));
    const fromSt = parseSafetensors(both['adapter.safetensors']!);
    expect([...fromBin.tensors.keys()]).toEqual(['x.weight', 'x.bias']);
    for (const [k, t] of fromSt.tensors) expect(fromBin.tensors.get(k)).toEqual(t);
    expect(() => serializeWeights(tensors, 'npz' as never, names)).toThrow(/unknown weights format 'npz'/);
  });
  it('wraps torch-format errors in TorchCheckpointError with the same code', async () => {
    await writeFile(join(dir, 'bad.bin'), 'PK\x03\x04 not really');
    await expect(readWeightsFile(join(dir, 'bad.bin'))).rejects.toSatisfy((e: unknown) => e instanceof TorchCheckpointError && e.code === 'TORCH_ZIP');
    await expect(readWeightsFile(join(dir, 'none.bin'))).rejects.toMatchObject({ code: 'TORCH_IO' });
  });
  it('names the libraries that open each file', () => {
    expect(weightsFileReaders('pytorch_adapter.bin')).toMatch(/adapter-transformers 3\.x/);
    expect(weightsFileReaders('adapter.safetensors')).toMatch(/use_safetensors=True/);
  });
});

describe('stateDictOrder', () => {
  it('groups keys by module and lists a module\'s own parameters before its sub-modules\'', () => {
    const keys = ['l.1.a.w', 'l.0.a.w', 'l.1.b.w', 'l.0.b.down.w', 'l.0.b.scaling', 'top'];
    expect(stateDictOrder(keys)).toEqual(['top', 'l.1.a.w', 'l.1.b.w', 'l.0.a.w', 'l.0.b.scaling', 'l.0.b.down.w']);
    expect(stateDictOrder(['x.weight', 'x.bias'])).toEqual(['x.weight', 'x.bias']);
  });
});
