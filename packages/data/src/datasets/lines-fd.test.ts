import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readJsonl } from '../index';

describe('readJsonl closes its file when a line is bad (pnpm fuzz: EMFILE after many bad files)', () => {
  it.runIf(process.platform === 'linux')('200 failing reads leave the number of open file descriptors flat', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ak-fd-'));
    try {
      const p = join(dir, 'bad.jsonl');
      writeFileSync(p, '{"text": "a", "label": 1}\nnot json\n' + '{"text": "b", "label": 2}\n'.repeat(5000));
      const fds = (): number => readdirSync('/proc/self/fd').length;
      await readJsonl(p).catch(() => undefined);
      const before = fds();
      for (let i = 0; i < 200; i++) await readJsonl(p).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
      expect(fds() - before).toBeLessThan(10);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
