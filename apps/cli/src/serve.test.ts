import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, caseDir, GOLDEN_BERT, removeCli, runMain, spawnCli } from './test-helpers';

let tmp: string;
const ADAPTERS = ['lora', 'pfeiffer', 'prefix_tuning'] as const;

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-cli-serve-'));
  for (const a of ADAPTERS) symlinkSync(caseDir(`bert/${a}`), join(tmp, a));
});
afterAll(() => {
  removeCli();
  rmSync(tmp, { recursive: true, force: true });
});

const ROWS = [
  [101, 7, 8, 9, 10, 102],
  [101, 40, 41, 102],
];

describe('adapterkit serve', () => {
  it('answers mixed-adapter requests as `adapterkit forward` does, and on SIGTERM finishes the running batch, refuses new requests and exits 0', async () => {
    const child = spawnCli(['serve', '--model', GOLDEN_BERT, '--adapters', tmp, '--port', '0', '--batch-window-ms', '400', '--backend', 'cpu']);
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      void exited.then(() => reject(new Error(`serve exited early:\n${stdout}\n${stderr}`)));
    });
    const post = (adapter: string | null, ids: number[]): Promise<{ status: number; json: any }> =>
      fetch(`${url}/v1/forward`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ adapter, input_ids: [ids] }) }).then(async (r) => ({ status: r.status, json: await r.json() }));
    // a batch of mixed adapters waits in the 400 ms window when SIGTERM arrives
    const pending = [...ADAPTERS, null].flatMap((a) => ROWS.map((row) => post(a, row)));
    await new Promise((r) => setTimeout(r, 150));
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 20));
    const late = await post('lora', ROWS[0]!).then((r) => r.status, () => 'refused');
    expect([503, 'refused']).toContain(late);
    const answers = await Promise.all(pending);
    expect(await exited).toBe(0);
    expect(stdout).toContain('stopped');
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));

    // each answer equals `adapterkit forward` with that adapter alone, on that row alone
    let k = 0;
    for (const a of [...ADAPTERS, null]) {
      for (const row of ROWS) {
        const inputs = join(tmp, `in-${k}.json`);
        const out = join(tmp, `out-${k}.safetensors`);
        writeFileSync(inputs, JSON.stringify({ input_ids: [row] }));
        const r = await runMain(['forward', '--model', GOLDEN_BERT, '--inputs', inputs, ...(a ? ['--adapter', caseDir(`bert/${a}`)] : []), '--out', out, '--backend', 'cpu']);
        expect(r.code, r.stderr).toBe(0);
        const want = (await readSafetensors(out)).tensors.get('last_hidden_state')!;
        const got = (answers[k]!.json.last_hidden_state[0] as number[][]).flat();
        expect(got).toHaveLength(want.data.length);
        let worst = 0;
        got.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want.data[i]!))));
        expect(worst, `${a} row ${k}`).toBeLessThan(1e-4);
        k++;
      }
    }
  });

  it('refuses a missing adapters folder', async () => {
    const r = await runMain(['serve', '--model', GOLDEN_BERT, '--adapters', join(tmp, 'nope')]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--adapters');
  });
});
