import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTorchCheckpoint, serializeTorchCheckpoint } from './index';

/** Debian's python3 with python3-torch (not the pyenv python on PATH). */
const PY = process.env['ADAPTERKIT_TORCH_PYTHON'] ?? '/usr/bin/python3';
const hasTorch = spawnSync(PY, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
if (!hasTorch) console.warn(`[torch-format] skipping the torch.load checks: ${PY} cannot import torch (set ADAPTERKIT_TORCH_PYTHON)`);

describe.skipIf(!hasTorch)('torch.load reads what we write (real PyTorch)', () => {
  it('weights_only=True and the default unpickler: key order, dtype, shape, data; and torch.save of it reads back here', () => {
    const dir = mkdtempSync(join(tmpdir(), 'torch-format-'));
    try {
      const tensors = new Map([
        ['encoder.layer.0.output.adapters.a.adapter_down.0.weight', { shape: [2, 3], data: new Float32Array([1, 2, 3, -4.5, 1e-20, 3.4e38]) }],
        ['b.bias', { shape: [3], data: new Float32Array([0.1, 0.2, 0.3]) }],
        ['position_ids', { shape: [1, 4], data: new Int32Array([0, 1, 2, 3]) }],
        ['mask', { dtype: 'BOOL' as const, shape: [2], data: new Uint8Array([1, 0]) }],
        ['scalar', { shape: [], data: new Float32Array([2.5]) }],
      ]);
      const path = join(dir, 'pytorch_adapter.bin');
      writeFileSync(path, serializeTorchCheckpoint(tensors, { archiveName: 'pytorch_adapter' }));
      const script = `
import json, sys, torch
out = {}
for wo in (True, False):
    sd = torch.load(sys.argv[1], map_location='cpu', weights_only=wo)
    out[str(wo)] = [[k, str(v.dtype), list(v.shape), v.reshape(-1).tolist()] for k, v in sd.items()]
torch.save(sd, sys.argv[2])
print(json.dumps(out))
`;
      const back = join(dir, 'resaved.bin');
      const got = JSON.parse(execFileSync(PY, ['-c', script, path, back], { encoding: 'utf8' })) as Record<string, [string, string, number[], number[]][]>;
      const want = [
        ['encoder.layer.0.output.adapters.a.adapter_down.0.weight', 'torch.float32', [2, 3], Array.from(new Float32Array([1, 2, 3, -4.5, 1e-20, 3.4e38]))],
        ['b.bias', 'torch.float32', [3], Array.from(new Float32Array([0.1, 0.2, 0.3]))],
        ['position_ids', 'torch.int64', [1, 4], [0, 1, 2, 3]],
        ['mask', 'torch.bool', [2], [true, false]],
        ['scalar', 'torch.float32', [], [2.5]],
      ];
      expect(got['True']).toEqual(want);
      expect(got['False']).toEqual(want);
      const again = parseTorchCheckpoint(new Uint8Array(execFileSync('cat', [back])), back);
      expect([...again.tensors.keys()]).toEqual([...tensors.keys()]);
      expect(again.tensors.get('position_ids')).toEqual({ dtype: 'I64', shape: [1, 4], data: new Int32Array([0, 1, 2, 3]) });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
