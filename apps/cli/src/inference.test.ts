import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdapterModel } from '@adapterkit/core';
import { plugins as loraPlugins } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from './commands';
import { buildCli, caseDir, cli, GOLDEN, GOLDEN_BERT, maxDiff, removeCli, runMain } from './test-helpers';

const INPUTS = join(GOLDEN, 'inputs.json');
let tmp: string;

beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-cli-'));
});
afterAll(() => {
  removeCli();
  rmSync(tmp, { recursive: true, force: true });
});

/** Exactly one stderr line `adapterkit: error: …` (notes aside). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('adapterkit: error: '));
  expect(lines).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('help', () => {
  it('lists the commands and documents each one', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.stdout).toContain(`  ${c.name} `);
      const r = await runMain([c.name, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage:[\s\S]*Options:[\s\S]*Global options:[\s\S]*Examples:/);
    }
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(['convert', 'eject-prefix', 'eval', 'forward', 'generate', 'merge', 'merge-adapters', 'predict', 'pretrain', 'serve', 'summary', 'train']);
  });

  it('rejects unknown commands and options with a suggestion (exit 2)', async () => {
    const [cmd, opt, none] = [await cli(['sumary']), await runMain(['forward', '--modle', 'x']), await runMain([])];
    expect(cmd.code).toBe(2);
    expect(errorLine(cmd.stderr)).toContain("unknown command 'sumary' (did you mean 'summary'?)");
    expect(opt.code).toBe(2);
    expect(errorLine(opt.stderr)).toContain("unknown option '--modle' for 'adapterkit forward' (did you mean '--model'?)");
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage:');
  });
});

describe('forward', () => {
  it('reproduces the reference outputs of the base model and of a Pfeiffer adapter', async () => {
    const base = join(tmp, 'base.safetensors');
    const pf = join(tmp, 'pfeiffer.safetensors');
    const [a, b] = await Promise.all([
      cli(['forward', '--model', GOLDEN_BERT, '--inputs', INPUTS, '--out', base]),
      cli(['forward', '--model', GOLDEN_BERT, '--inputs', INPUTS, '--adapter', caseDir('bert/pfeiffer'), '--out', pf]),
    ]);
    // the backend actually active, first; further notes (e.g. the native kernels) may follow
    expect(a.stderr.trim().split('\n')[0]).toMatch(/^adapterkit: note: backend (native|wasm|tensorflow)\b.*\d+ threads?\)$/);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('last_hidden_state [2, 12, 32]');
    expect(a.stdout).toContain('pooler_output [2, 32]');
    expect(b.code).toBe(0);
    expect(await maxDiff(base, join(caseDir('bert/base'), 'output.safetensors'))).toBeLessThan(1e-4);
    expect(await maxDiff(pf, join(caseDir('bert/pfeiffer'), 'output.safetensors'))).toBeLessThan(1e-4);
  });

  it('composes adapters with --setup', async () => {
    const out = join(tmp, 'stack.safetensors');
    const adapters = join(caseDir('bert/comp_stack'), 'adapters');
    const r = await cli([
      'forward', '--model', GOLDEN_BERT, '--inputs', INPUTS, '--adapter', join(adapters, 'lang'), '--adapter', join(adapters, 'task'),
      '--setup', 'Stack[lang, task]', '--out', out,
    ]);
    expect(r.code).toBe(0);
    expect(await maxDiff(out, join(caseDir('bert/comp_stack'), 'output.safetensors'))).toBeLessThan(1e-4);
  });

  it('reports bad inputs in one line (in-process)', async () => {
    const golden = JSON.parse(readFileSync(INPUTS, 'utf8')) as { bert: { input_ids: number[][]; attention_mask: number[][] } };
    const bad = join(tmp, 'bad-shape.json');
    writeFileSync(bad, JSON.stringify({ input_ids: golden.bert.input_ids, attention_mask: golden.bert.attention_mask.map((r) => r.slice(1)) }));
    const oov = join(tmp, 'oov.json');
    writeFileSync(oov, JSON.stringify({ input_ids: [5, 600, 7] }));
    const notJson = join(tmp, 'not.json');
    writeFileSync(notJson, '{"input_ids": [1, 2');
    const out = join(tmp, 'x.safetensors');
    const argvs = [
      ['forward', '--model', GOLDEN_BERT, '--inputs', bad, '--out', out],
      ['forward', '--model', GOLDEN_BERT, '--inputs', oov, '--out', out],
      ['forward', '--model', GOLDEN_BERT, '--inputs', notJson, '--out', out],
      ['forward', '--model', GOLDEN_BERT, '--inputs', join(tmp, 'missing.json'), '--out', out],
      ['forward', '--model', join(tmp, 'no-model'), '--inputs', INPUTS, '--out', out],
      ['forward', '--model', GOLDEN_BERT, '--inputs', INPUTS, '--adapter', GOLDEN_BERT, '--out', out],
      ['forward', '--model', GOLDEN_BERT, '--inputs', INPUTS],
    ];
    const runs = [];
    for (const a of argvs) runs.push(await runMain(a));
    const expected = [
      /shape mismatch: attention_mask is \[2, 11\] but input_ids is \[2, 12\]/,
      /input_ids\[0\]\[1\] = 600 is outside the vocabulary of size 512/,
      /missing\.json|invalid JSON/,
      /no such file/,
      /no-model: no such folder/,
      /not an adapter folder \(no adapter_config\.json\)/,
      /missing --out FILE/,
    ];
    runs.forEach((r, i) => {
      expect(r.code, r.stderr).not.toBe(0);
      expect(errorLine(r.stderr)).toMatch(expected[i]!);
    });
    expect(runs[2]!.stderr).toContain('invalid JSON');
    expect(runs[6]!.code).toBe(2);
  });

  it('prints the stack trace only with --verbose', async () => {
    const r = await cli(['forward', '--verbose', '--model', GOLDEN_BERT, '--inputs', join(tmp, 'missing.json'), '--out', join(tmp, 'x.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/adapterkit: error: [\s\S]*\n\s+at /);
  });
});

describe('summary', () => {
  it('prints the adapter table of saved and new adapters', async () => {
    const r = await cli(['summary', '--model', GOLDEN_BERT, '--adapter', caseDir('bert/lora'), '--config', 'task=pfeiffer[reduction_factor=8]', '--setup', 'Stack[lora, task]']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Name\s+Architecture\s+#Param\s+%Param\s+Active\s+Train/);
    expect(r.stdout).toMatch(/lora\s+lora\s+1,024/);
    expect(r.stdout).toMatch(/task\s+bottleneck\s+/);
    expect(r.stdout).toMatch(/Full model\s+36,704\s+100\.000/);
  });

  it('prints the backend actually active with its package and threads; an unavailable backend is an error', async () => {
    const [one, two, webgl] = await Promise.all([
      cli(['summary', '--model', GOLDEN_BERT, '--backend', 'wasm', '--threads', '1']),
      cli(['summary', '--model', GOLDEN_BERT, '--backend', 'wasm', '--threads', '2']),
      cli(['summary', '--model', GOLDEN_BERT, '--backend', 'webgl']),
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain('adapterkit: note: backend wasm (@tensorflow/tfjs-backend-wasm 4.22.0, 1 thread)');
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toContain('adapterkit: note: backend wasm (@tensorflow/tfjs-backend-wasm 4.22.0 (threaded-simd), 2 threads)');
    expect(webgl.code).toBe(1);
    expect(errorLine(webgl.stderr)).toContain("Backend 'webgl' is not available: WebGL needs a browser");
  });

  it('suggests the nearest config name', async () => {
    const r = await cli(['summary', '--model', GOLDEN_BERT, '--config', 'pfeifer']);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(/'pfeifer'.*did you mean 'pfeiffer'/);
  });
});

describe('merge and eject-prefix', () => {
  it('merges a LoRA adapter into a model folder that reproduces the adapter outputs', async () => {
    const merged = join(tmp, 'merged');
    const m = await cli(['merge', '--model', GOLDEN_BERT, '--adapter', caseDir('bert/lora'), '--out', merged]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain("merged adapter 'lora'");
    const out = join(tmp, 'merged.safetensors');
    const f = await cli(['forward', '--model', merged, '--inputs', INPUTS, '--out', out]);
    expect(f.code, f.stderr).toBe(0);
    expect(await maxDiff(out, join(caseDir('bert/lora'), 'output.safetensors'))).toBeLessThan(1e-4);

    const bad = await cli(['merge', '--model', GOLDEN_BERT, '--adapter', caseDir('bert/pfeiffer'), '--out', join(tmp, 'nope')]);
    expect(bad.code).toBe(1);
    expect(errorLine(bad.stderr)).toMatch(/no LoRA/);
  });

  it('merge-adapters: averaging an adapter with a copy of itself reproduces it; a pruning strategy without --density is refused', async () => {
    // the same adapter under another name (names are part of the weight keys)
    const copy = join(tmp, 'lora-copy');
    const lib = new AdapterModel(await loadHost(GOLDEN_BERT), { methods: [...loraPlugins] });
    await lib.loadAdapter(caseDir('bert/lora'), { loadAs: 'lora_copy' });
    await lib.saveAdapter(copy, 'lora_copy');
    lib.dispose();
    const merged = join(tmp, 'lora-avg');
    const m = await cli(['merge-adapters', '--model', GOLDEN_BERT, '--adapter', caseDir('bert/lora'), '--adapter', copy, '--strategy', 'average_linear', '--out', merged]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toContain("merged 'lora', 'lora_copy' (average_linear) into adapter 'merged'");
    const out = join(tmp, 'lora-avg.safetensors');
    const f = await cli(['forward', '--model', GOLDEN_BERT, '--inputs', INPUTS, '--adapter', merged, '--out', out]);
    expect(f.code, f.stderr).toBe(0);
    expect(await maxDiff(out, join(caseDir('bert/lora'), 'output.safetensors'))).toBeLessThan(1e-4);
    const bad = await cli(['merge-adapters', '--model', GOLDEN_BERT, '--adapter', caseDir('bert/lora'), '--adapter', copy, '--strategy', 'ties', '--out', join(tmp, 'nope')]);
    expect(bad.code).toBe(1);
    expect(errorLine(bad.stderr)).toMatch(/needs a density/);
  });

  it('ejects a prefix without changing the outputs', async () => {
    const flat = join(tmp, 'flat');
    const e = await cli(['eject-prefix', '--model', GOLDEN_BERT, '--adapter', caseDir('bert/prefix_tuning'), '--out', flat]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/ejected prefix of 'prefix_tuning': 82,816 → 1,024 parameters/);
    const out = join(tmp, 'flat.safetensors');
    const f = await cli(['forward', '--model', GOLDEN_BERT, '--inputs', INPUTS, '--adapter', flat, '--out', out]);
    expect(f.code, f.stderr).toBe(0);
    expect(await maxDiff(out, join(caseDir('bert/prefix_tuning'), 'output.safetensors'))).toBeLessThan(1e-4);
  });
});
