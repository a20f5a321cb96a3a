import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { saveTokenizer, trainWordPiece } from '@adapterkit/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './cli/errors';
import { MIN_EXAMPLES_PER_WORKER, parseWorkers, planWorkers } from './runtime/workers';
import { buildCli, cli, copyModel, GOLDEN_BERT, NEG, POS, removeCli, writeReviewsCsv } from './test-helpers';

describe('--workers N|auto: the plan', () => {
  const wasm2 = { name: 'wasm', threads: 2 } as const;

  it('auto trains data-parallel on wasm with 2+ threads and cores and big enough batches, else one process', () => {
    expect(planWorkers('auto', wasm2, 16, 2)).toEqual({ workers: 2, note: 'training on 2 workers × 1 thread (data-parallel, faster than 2 threads on wasm; --workers 1 for one process)' });
    // native: 2 workers × 1 thread measured faster on the quiet machine (runtime/workers.ts)
    expect(planWorkers('auto', { name: 'native', threads: 2 }, 16, 2)).toMatchObject({ workers: 2, note: 'training on 2 workers × 1 thread (data-parallel, faster than 2 threads on native; --workers 1 for one process)' });
    // as many workers as threads, cores and batch allow
    expect(planWorkers('auto', { name: 'wasm', threads: 8 }, 16, 8).workers).toBe(16 / MIN_EXAMPLES_PER_WORKER);
    expect(planWorkers('auto', { name: 'wasm', threads: 3 }, 64, 4).workers).toBe(3);
    expect(planWorkers('auto', wasm2, 16, 1)).toMatchObject({ workers: 1, note: expect.stringContaining('one core') });
    expect(planWorkers('auto', { name: 'wasm', threads: 1 }, 16, 2)).toMatchObject({ workers: 1, note: expect.stringContaining('1 thread asked for') });
    expect(planWorkers('auto', wasm2, 7, 2)).toMatchObject({ workers: 1, note: expect.stringContaining('batches of 7 are too small') });
    expect(planWorkers('auto', { name: 'webgpu' }, 16, 2)).toMatchObject({ workers: 1, note: expect.stringContaining('not measured faster on webgpu') });
    expect(planWorkers('auto', { name: 'cpu', threads: 1 }, 16, 2)).toMatchObject({ workers: 1, note: expect.stringContaining('not measured faster on cpu') });
  });

  it('--workers N is taken as given on CPU backends; refused on others; bad values are usage errors', () => {
    expect(planWorkers(1, wasm2, 16, 2)).toMatchObject({ workers: 1, note: expect.stringContaining('--workers 1') });
    expect(planWorkers(3, wasm2, 2, 2)).toMatchObject({ workers: 3, note: expect.stringContaining('more workers than the 2 cores') });
    expect(() => planWorkers(2, { name: 'webgpu' }, 16, 2)).toThrow(CliError);
    expect(parseWorkers(undefined)).toBe('auto');
    expect(parseWorkers('auto')).toBe('auto');
    expect(parseWorkers('4')).toBe(4);
    for (const bad of ['0', '-1', '1.5', 'many']) expect(() => parseWorkers(bad), bad).toThrow(/--workers must be a positive integer or auto/);
  });
});


let tmp: string;
let model: string;
let csv: string;

describe('adapterkit train --workers 2 (data-parallel, built CLI with its dist/replica.js)', () => {
  beforeAll(async () => {
    buildCli();
    tmp = mkdtempSync(join(tmpdir(), 'adapterkit-workers-'));
    model = copyModel(GOLDEN_BERT, join(tmp, 'bert'));
    await saveTokenizer(trainWordPiece([...POS, ...NEG], { vocabSize: 150 }), model);
    csv = writeReviewsCsv(join(tmp, 'reviews.csv'), 3);
  });
  afterAll(() => {
    removeCli();
    rmSync(tmp, { recursive: true, force: true });
  });

  const trainArgs = (out: string, ...extra: string[]): string[] => [
    'train', '--model', model, '--train', csv, '--dev', csv, '--out', out, '--batch-size', '8', '--seed', '3', '--backend', 'wasm', ...extra,
  ];
  const results = (dir: string): { eval_history: Array<{ step: number; metrics: Record<string, number> }>; final: Record<string, number>; hyperparameters: Record<string, number> } =>
    JSON.parse(readFileSync(join(dir, 'train_results.json'), 'utf8'));

  it('learns the task as one process does and writes the same files, with evaluation during training (--full)', async () => {
    const full = ['--full', '--max-steps', '60', '--lr', '1e-2'];
    const one = await cli(trainArgs(join(tmp, 'one'), ...full, '--workers', '1'));
    expect(one.code, one.stderr).toBe(0);
    expect(one.stderr).toContain('training in one process (wasm, 1 thread): --workers 1');
    const two = await cli(trainArgs(join(tmp, 'two'), ...full, '--workers', '2'));
    expect(two.code, two.stderr).toBe(0);
    expect(two.stderr).toContain('training on 2 workers × 1 thread (data-parallel, wasm, --workers 2)');
    for (const dir of ['one', 'two']) {
      for (const f of ['config.json', 'model.safetensors', 'head_config.json', 'model_head.safetensors', 'train_results.json']) expect(existsSync(join(tmp, dir, f)), `${dir}/${f}`).toBe(true);
    }
    const r1 = results(join(tmp, 'one'));
    const r2 = results(join(tmp, 'two'));
    // 48 examples, batch 8: 6 steps per epoch, an evaluation after each of the 10 epochs
    expect(r2.eval_history.map((e) => e.step)).toEqual(r1.eval_history.map((e) => e.step));
    expect(r2.eval_history.length).toBeGreaterThan(3);
    expect([r1.hyperparameters['workers'], r2.hyperparameters['workers']]).toEqual([1, 2]);
    expect(r1.final['accuracy']).toBe(1);
    expect(r2.final['accuracy']).toBe(1);
    expect(two.stdout).toMatch(/dev \(48 examples\): loss \S+ {2}accuracy \S+/);
  });

  it('Ctrl-C saves a checkpoint; --resume ends with the weights of an uninterrupted run with the same workers (adapter)', async () => {
    const train = (out: string, ...extra: string[]): string[] => trainArgs(out, '--max-steps', '40', '--lr', '5e-3', ...extra);
    const whole = join(tmp, 'whole');
    const uninterrupted = await cli(train(whole, '--workers', '2'));
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);
    const out = join(tmp, 'stopped');
    const stopped = await cli(train(out, '--workers', '2', '--checkpoint-every', '1000'), { interruptWhen: (err) => err.includes('train step') });
    expect(stopped.code, stopped.stderr).toBe(130);
    const m = /interrupted after step (\d+) of 40; checkpoint saved in (\S+)\./.exec(stopped.stderr);
    expect(m, stopped.stderr).not.toBeNull();
    const resumed = await cli(train(out, '--workers', '2', '--checkpoint-every', '1000', '--resume'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from ${m![2]}`);
    expect(resumed.stdout).toContain('trained 40 steps');
    for (const f of ['adapter.safetensors', 'model_head.safetensors']) expect(readFileSync(join(out, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    expect(results(out).eval_history).toEqual(results(whole).eval_history);
  });
});
