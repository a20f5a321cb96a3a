import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findWeightsFile } from './weights-file';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'adapterkit-weights-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = { candidates: ['a.safetensors', 'b.safetensors'], torchFile: 'w.bin', what: 'test weights' } as const;

describe('findWeightsFile', () => {
  it('prefers the candidates in order; explains a lone torch pickle; reports nothing found', async () => {
    await expect(Promise.resolve().then(() => findWeightsFile(dir, spec))).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: `${dir}: no test weights (a.safetensors or b.safetensors)`,
    });
    await writeFile(join(dir, 'w.bin'), '');
    expect(() => findWeightsFile(dir, spec)).toThrow(/only w\.bin found; reading torch pickles is not implemented yet — convert it to a\.safetensors/);
    expect(() => findWeightsFile(dir, { ...spec, hint: 'do X' })).toThrow(/— do X$/);
    await writeFile(join(dir, 'b.safetensors'), '');
    expect(findWeightsFile(dir, spec)).toBe(join(dir, 'b.safetensors'));
    await writeFile(join(dir, 'a.safetensors'), '');
    expect(findWeightsFile(dir, spec)).toBe(join(dir, 'a.safetensors'));
  });
});
