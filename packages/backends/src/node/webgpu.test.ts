import { describe, expect, it } from 'vitest';
import { hasGpuDeviceNode } from './webgpu';

/** A fake file system holding the given directory listings. */
function fakeFs(tree: Record<string, string[]>) {
  return {
    existsSync: (p: string) => p in tree,
    readdirSync: (p: string) => tree[p] ?? [],
  };
}

describe('hasGpuDeviceNode', () => {
  it('finds a DRM render node, an NVIDIA device or WSL dxg', () => {
    const trees: Record<string, string[]>[] = [{ '/dev/dri': ['card0', 'renderD128'], '/dev': ['null'] }, { '/dev': ['null', 'nvidia0', 'nvidiactl'] }, { '/dev': ['dxg'] }];
    for (const tree of trees) {
      const fs = fakeFs(tree);
      expect(hasGpuDeviceNode(fs.existsSync, fs.readdirSync)).toBe(true);
    }
  });
  it('is false on a machine with no GPU device (a card node alone is a display, not a render device)', () => {
    const trees: Record<string, string[]>[] = [{ '/dev': ['null', 'tty0'] }, { '/dev/dri': ['card0'], '/dev': ['null'] }];
    for (const tree of trees) {
      const fs = fakeFs(tree);
      expect(hasGpuDeviceNode(fs.existsSync, fs.readdirSync)).toBe(false);
    }
  });
});
