import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTorchCheckpoint, TorchFormatError } from './index';
import { pickleBytes } from './test-helpers';
import { writeZip } from './zip';

const marker = join(tmpdir(), `adapterkit-pwned-${process.pid}-${Date.now()}`);
const cmd = `touch ${marker}`;
const u32 = (n: number) => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];

/** `os.system(cmd)` the classic way: GLOBAL 'os system', a 1-tuple, REDUCE. */
const osSystemGlobal = pickleBytes(0x80, 2, 'c', 'os\nsystem\n', 0x58, ...u32(cmd.length), cmd, 0x85, 'R', '.');
/** The same with protocol 4's STACK_GLOBAL and a frame. */
const osSystemStack = pickleBytes(0x80, 4, 0x95, 30, 0, 0, 0, 0, 0, 0, 0, 0x8c, 2, 'os', 0x94, 0x8c, 6, 'system', 0x94, 0x93, 0x94, 0x8c, cmd.length, cmd, 0x85, 'R', '.');
/** A state dict whose tensor rebuild is `builtins.eval` hidden inside a valid-looking dict. */
const evalInDict = pickleBytes(0x80, 2, '}', 'q', 0, 'X', ...u32(1), 'w', 'c', 'builtins\neval\n', 'X', ...u32(9), '1+1==2 or', 0x85, 'R', 's', '.');

const legacyPrefix = pickleBytes(
  0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, '.',
  0x80, 2, 'M', 0xe9, 0x03, '.',
  0x80, 2, '}', '.',
);
const legacy = (p: Uint8Array) => Uint8Array.from([...legacyPrefix, ...p]);
const zipped = (p: Uint8Array) => writeZip([{ name: 'archive/data.pkl', data: p }, { name: 'archive/version', data: new TextEncoder().encode('3\n') }]);

describe('malicious pickles are refused and have no effect', () => {
  it.each([
    ['os.system via GLOBAL (zip)', zipped(osSystemGlobal), 'os.system'],
    ['os.system via GLOBAL (legacy)', legacy(osSystemGlobal), 'os.system'],
    ['os.system via STACK_GLOBAL, protocol 4 (zip)', zipped(osSystemStack), 'os.system'],
    ['builtins.eval inside a state dict (zip)', zipped(evalInDict), 'builtins.eval'],
    ['subprocess.Popen', zipped(pickleBytes(0x80, 2, 'c', 'subprocess\nPopen\n', '.')), 'subprocess.Popen'],
    ['torch.load itself', zipped(pickleBytes(0x80, 2, 'c', 'torch\nload\n', '.')), 'torch.load'],
    ['posix.system', zipped(pickleBytes(0x80, 2, 'c', 'posix\nsystem\n', ')', 'R', '.')), 'posix.system'],
  ])('%s', (_, bytes, name) => {
    let err: unknown;
    try {
      parseTorchCheckpoint(bytes, 'evil.bin');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TorchFormatError);
    expect((err as TorchFormatError).code).toBe('TORCH_GLOBAL');
    expect((err as TorchFormatError).message).toContain(`evil.bin`);
    expect((err as TorchFormatError).message).toContain(name);
    expect(existsSync(marker)).toBe(false);
  });

  it('calling an allow-listed class that is not a function (a storage class) is refused', () => {
    const p = pickleBytes(0x80, 2, 'c', 'torch\nFloatStorage\n', ')', 'R', '.');
    expect(() => parseTorchCheckpoint(zipped(p), 'x.bin')).toThrow(expect.objectContaining({ code: 'TORCH_GLOBAL', message: expect.stringContaining('torch.FloatStorage is not callable') }));
  });

  it('a rebuild whose storage is not a persistent storage is refused', () => {
    const p = pickleBytes(0x80, 2, '}', 'X', ...u32(1), 'w', 'c', 'torch._utils\n_rebuild_tensor_v2\n', '(', 'c', 'collections\nOrderedDict\n', 'K', 0, ')', ')', 0x89, 'N', 't', 'R', 's', '.');
    expect(() => parseTorchCheckpoint(zipped(p), 'x.bin')).toThrow(expect.objectContaining({ code: 'TORCH_TENSOR' }));
  });
});

describe('pickle limits are checked before allocating', () => {
  it('memo size', () => {
    const parts: number[] = [0x80, 2, 0x4e];
    for (let i = 0; i < 20; i++) parts.push(0x72, ...u32(i * 1000003));
    parts.push(0x2e);
    expect(() => parseTorchCheckpoint(zipped(Uint8Array.from(parts)), 'm.bin', { maxMemo: 10 })).toThrow(expect.objectContaining({ code: 'TORCH_LIMIT', message: expect.stringContaining('maxMemo') }));
  });
  it('nesting depth', () => {
    const p = Uint8Array.from([0x80, 2, ...new Array(100).fill(0x28), 0x2e]);
    expect(() => parseTorchCheckpoint(zipped(p), 'd.bin')).toThrow(expect.objectContaining({ code: 'TORCH_LIMIT', message: expect.stringContaining('maxDepth') }));
  });
  it('string length (declared length checked before reading)', () => {
    const p = pickleBytes(0x80, 2, 0x58, ...u32(0x7fffffff), 'abc');
    expect(() => parseTorchCheckpoint(zipped(p), 's.bin')).toThrow(expect.objectContaining({ code: 'TORCH_LIMIT', message: expect.stringContaining('maxStringBytes') }));
    const q = pickleBytes(0x80, 2, 0x58, ...u32(100), 'abc');
    expect(() => parseTorchCheckpoint(zipped(q), 's.bin')).toThrow(expect.objectContaining({ code: 'TORCH_PICKLE' }));
  });
  it('stack size', () => {
    const p = Uint8Array.from([0x80, 2, ...new Array(50).fill(0x4e), 0x2e]);
    expect(() => parseTorchCheckpoint(zipped(p), 'st.bin', { maxStack: 20 })).toThrow(expect.objectContaining({ code: 'TORCH_LIMIT' }));
  });
  it('a storage larger than the file', () => {
    const p = pickleBytes(0x80, 2, '}', 'X', ...u32(1), 'w', 'c', 'torch._utils\n_rebuild_tensor_v2\n', '(',
      '(', 'X', ...u32(7), 'storage', 'c', 'torch\nFloatStorage\n', 'X', ...u32(1), '0', 'X', ...u32(3), 'cpu', 'J', ...u32(0x7fffffff), 'N', 't', 'Q',
      'K', 0, 'J', ...u32(0x7fffffff), 0x85, 'K', 1, 0x85, 0x89, 'c', 'collections\nOrderedDict\n', ')', 'R', 't', 'R', 's', '.');
    expect(() => parseTorchCheckpoint(legacy(p), 'big.bin')).toThrow(expect.objectContaining({ code: 'TORCH_PICKLE', message: expect.stringContaining('storage key list') }));
    const withList = Uint8Array.from([...legacy(p), ...pickleBytes(0x80, 2, ']', 'X', ...u32(1), '0', 'a', '.'), ...u32(0x7fffffff), 0, 0, 0, 0]);
    expect(() => parseTorchCheckpoint(withList, 'big.bin')).toThrow(expect.objectContaining({ code: 'TORCH_LIMIT', message: expect.stringContaining('past the end of the file') }));
  });
});
