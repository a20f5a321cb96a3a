import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveTokenizer, trainWordPiece } from '@adapterkit/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, cli, GOLDEN_BERT, removeCli } from './test-helpers';

const POS = ['great movie', 'really good film', 'i loved it', 'wonderful acting'];
const NEG = ['terrible movie', 'really bad film', 'i hated it', 'awful acting'];

let tmp: string;
let model: string;
let csv: string;

beforeAll(async () => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-ck-'));
  model = join(tmp, 'bert');
  mkdirSync(model);
  for (const f of ['config.json', 'model.safetensors']) copyFileSync(join(GOLDEN_BERT, f), join(model, f));
  await saveTokenizer(trainWordPiece([...POS, ...NEG], { vocabSize: 120 }), model);
  csv = join(tmp, 'reviews.csv');
  writeFileSync(csv, `text,label\n${[...POS.map((t) => `${t},pos`), ...NEG.map((t) => `${t},neg`)].join('\n')}\n`);
});
afterAll(() => {
  removeCli();
  rmSync(tmp, { recursive: true, force: true });
});

const train = (out: string, ...extra: string[]): string[] => ['train', '--model', model, '--train', csv, '--out', out, '--batch-size', '4', '--lr', '1e-3', ...extra];

describe('adapterkit train checkpoints (default: inside --out)', () => {
  it('Ctrl-C saves a checkpoint and says how to resume; without --resume the next run refuses; --resume finishes and cleans up', async () => {
    const out = join(tmp, 'run');
    const stopped = await cli(train(out, '--max-steps', '100000', '--checkpoint-every', '100000'), { interruptWhen: (err) => err.includes('train step') });
    expect(stopped.code, stopped.stderr).toBe(130);
    const m = /adapterkit: error: interrupted after step (\d+) of 100000; checkpoint saved in (\S+)\. To continue, run the same command with --resume/.exec(stopped.stderr);
    expect(m, stopped.stderr).not.toBeNull();
    expect(stopped.stderr).toContain('Ctrl-C: stopping after the current step and saving a checkpoint');
    expect(m![2]).toBe(join(out, 'checkpoints', `checkpoint-${m![1]}`));
    expect(existsSync(join(m![2]!, 'trainer_state.json'))).toBe(true);

    const refused = await cli(train(out, '--max-steps', '100000'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `adapterkit: error: ${m![2]} is a checkpoint of an earlier run: pass --resume to continue it, or --overwrite (same as --no-resume) to start over`,
    );
    expect(existsSync(m![2]!)).toBe(true);

    const step = Number(m![1]);
    const resumed = await cli(train(out, '--max-steps', String(step + 2), '--resume'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from ${m![2]}`);
    expect(resumed.stdout).toContain(`trained ${step + 2} steps`);
    expect(existsSync(join(out, 'checkpoints'))).toBe(false); // the completed run's checkpoints are removed
    expect(existsSync(join(out, 'adapter.safetensors'))).toBe(true);
  });

  it('never deletes an earlier checkpoint unless --overwrite is given', async () => {
    const out = join(tmp, 'foreign');
    const old = join(out, 'checkpoints', 'checkpoint-7');
    mkdirSync(old, { recursive: true });
    const refused = await cli(train(out, '--max-steps', '2'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/checkpoint-7 is a checkpoint of an earlier run: pass --resume/);
    expect(existsSync(old)).toBe(true);

    const both = await cli(train(out, '--resume', '--no-resume'));
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give --resume or --no-resume, not both');

    const over = await cli(train(out, '--max-steps', '2', '--overwrite'));
    expect(over.code, over.stderr).toBe(0);
    expect(over.stderr).toContain(`--overwrite: removed the earlier checkpoint ${old}`);
    expect(existsSync(join(out, 'checkpoints')) ? readdirSync(join(out, 'checkpoints')) : []).toEqual([]);
  });
});
