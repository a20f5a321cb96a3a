import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorText, withFlagNames } from './cli/error-text';
import { formatError } from './main';
import { classifyModelSpec } from './runtime/model-spec';
import { echo } from './runtime/predict';
import { GOLDEN_BERT, REPO, runMain } from './test-helpers';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-errors-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('--model: a local path or a Hub id, by what it looks like and what exists', () => {
  it('a mistyped local path is "no such folder", never a Hub download', async () => {
    // the repository root holds packages/ (the embedded model lives in packages/bert-mini/model)
    const r = await runMain(['summary', '--model', 'packages/bert-tiny', '--config', 'pfeiffer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("adapterkit: error: --model packages/bert-tiny: no such folder; did you mean 'packages/bert-mini'?");
    expect(r.stderr).toContain('read as a local path because packages/ exists here; for the Hub id write --model hf:packages/bert-tiny');
    expect(r.stderr).not.toMatch(/huggingface|cannot reach/);
  });

  it('classifies arguments', () => {
    expect(classifyModelSpec('prajjwal1/bert-tiny', REPO)).toEqual({ kind: 'hub', id: 'prajjwal1/bert-tiny' });
    expect(classifyModelSpec('hf:models/bert-tiny', REPO)).toEqual({ kind: 'hub', id: 'models/bert-tiny' });
    expect(classifyModelSpec('packages/bert-mni', REPO)).toMatchObject({ kind: 'missing-path', message: expect.stringContaining("did you mean 'packages/bert-mini'?") });
    for (const path of ['./bert', '../bert', '/nowhere/bert', '~/bert', 'a/b/c', 'bert/', 'C:\\models\\bert']) {
      expect(classifyModelSpec(path, REPO), path).toMatchObject({ kind: 'missing-path', message: expect.stringContaining(`--model ${path}: no such folder`) });
    }
    expect(classifyModelSpec('bert', REPO)).toMatchObject({ kind: 'missing-path', message: "--model bert: no such folder (expected a model folder, 'embedded', or a Hub id org/name)" });
    expect(classifyModelSpec('hf:bert', REPO)).toMatchObject({ kind: 'missing-path', message: "--model hf:bert: 'bert' is not a Hub id (expected org/name)" });
  });
});

describe('error text', () => {
  it('keeps the input snippet and caret line of a config-string error', async () => {
    const r = await runMain(['summary', '--model', GOLDEN_BERT, '--config', 'pfeiffer[reduction_factor=]']);
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    const at = lines.findIndex((l) => l.startsWith('adapterkit: error: '));
    expect(at, r.stderr).toBeGreaterThanOrEqual(0);
    expect(lines[at + 1]).toBe('  pfeiffer[reduction_factor=]');
    expect(lines[at + 2]).toMatch(/^ {2} {26}\^$/);
  });

  it('names flags, not the API option names', () => {
    expect(withFlagNames('x.csv: labelColumn "y" is not a column; textColumn, maxLength')).toBe('x.csv: --label-column "y" is not a column; --text-column, --max-length');
    expect(withFlagNames('mylabelColumn and labelColumns stay')).toBe('mylabelColumn and labelColumns stay');
    expect(errorText('first\nsecond', 'E')).toEqual(['first']);
    expect(formatError(new Error('bad batchSize 0'))).toEqual(['adapterkit: error: bad --batch-size 0']);
  });

  it('calls a truncated weight file "truncated or corrupt, download again" after the exact detail', async () => {
    const model = join(tmp, 'cut');
    mkdirSync(model);
    copyFileSync(join(GOLDEN_BERT, 'config.json'), join(model, 'config.json'));
    const bytes = readFileSync(join(GOLDEN_BERT, 'model.safetensors'));
    writeFileSync(join(model, 'model.safetensors'), bytes.subarray(0, bytes.length - 1000));
    const r = await runMain(['summary', '--model', model, '--config', 'pfeiffer']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/adapterkit: error: .*model\.safetensors: tensor .* out of bounds \(data section is \d+ bytes\); the file is truncated or corrupt: download it again/);
  });
});

describe('uncaught errors in the adapterkit process', () => {
  it('print our one-line message and exit 1 (no dependency handler output, no exit code 7)', () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const cliTs = pathToFileURL(join(REPO, 'apps', 'cli', 'src', 'cli.ts')).href;
    // the CLI entry with a command that starts the wasm backend, then an error nothing catches
    const script = `await import('${cliTs}'); setTimeout(() => { throw new Error('stray labelColumn failure'); }, 0);`;
    const r = spawnSync(process.execPath, ['--import', tsx, '--conditions=source', '--input-type=module', '-e', script, 'adapterkit', 'summary', '--model', GOLDEN_BERT, '--config', 'pfeiffer', '--backend', 'wasm'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(r.stdout).toMatch(/pfeiffer/);
    expect(r.status, r.stderr.slice(0, 2000)).toBe(1);
    expect(r.stderr).toContain('adapterkit: error: stray --label-column failure');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr.length).toBeLessThan(4000);
  });
});

describe('predict echo', () => {
  it('escapes tabs and line breaks so that each result stays one line', () => {
    expect(echo('Subject\n\nbody\twith tab \\ end')).toBe('Subject\\n\\nbody\\twith tab \\\\ end');
  });
});
