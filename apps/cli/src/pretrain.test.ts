/**
 * `adapterkit pretrain` in-process on a tiny corpus and a tiny BERT: the phase record, the config, a further phase
 * with `--init`, and one-line errors for a bad `--init`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Phase } from './runtime/model-card';
import { GOLDEN_BERT, runMain } from './test-helpers';

const WORDS = ['the', 'whale', 'ship', 'sea', 'captain', 'union', 'state', 'people', 'year', 'strong', 'white', 'great'];
const TINY = ['--layers', '1', '--hidden', '32', '--heads', '2', '--intermediate', '64', '--vocab-size', '150', '--max-length', '32'];

let tmp: string;
let corpus: string;

const json = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;
const phasesOf = (dir: string): Phase[] => json<{ phases: Phase[] }>(join(dir, 'pretraining.json')).phases;

/** Exactly one stderr line `adapterkit: error: …`, no stack trace. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('adapterkit: error: '));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-pretrain-'));
  corpus = join(tmp, 'corpus.txt');
  const lines = Array.from({ length: 40 }, (_, i) => Array.from({ length: 12 }, (_, j) => WORDS[(i * 7 + j * j) % WORDS.length]).join(' '));
  writeFileSync(corpus, `${lines.join('\n')}\n`);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('adapterkit pretrain', () => {
  it('records a phase, and --init continues it as a second phase', async () => {
    const first = join(tmp, 'phase1');
    const a = await runMain(['pretrain', '--corpus', corpus, '--out', first, ...TINY, '--steps', '4', '--batch-size', '4', '--seed', '42', '--backend', 'cpu']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toMatch(/pre-trained 4 steps in \d+:\d\d; held-out \(2 texts\): loss \S+ {2}perplexity \S+/);

    const config = json<Record<string, unknown>>(join(first, 'config.json'));
    expect(Object.keys(config)).toEqual(Object.keys(config).sort());
    expect(config).toMatchObject({
      architectures: ['BertForMaskedLM'],
      hidden_size: 32,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 64,
      max_position_embeddings: 32,
      transformers_version: '4.26.0',
      hidden_dropout_prob: 0.1,
    });
    const [p1] = phasesOf(first);
    expect(phasesOf(first)).toHaveLength(1);
    expect(p1).toMatchObject({ init: null, steps: 4, batchSize: 4, maxLength: 32, lr: 0.0005, warmupSteps: 0, seed: 42 });
    expect(p1!.command).toBe(`adapterkit pretrain --corpus ${corpus} --out ${first} ${TINY.join(' ')} --steps 4 --batch-size 4 --lr 0.0005 --seed 42 --backend cpu`);
    expect(p1!.heldOut.map((h) => h.step)).toEqual([1, 2, 3, 4]);
    expect(p1!.maskings).toBeGreaterThanOrEqual(1);
    const w1 = (await readSafetensors(join(first, 'model.safetensors'))).tensors;
    expect([...w1.keys()].some((k) => k.startsWith('bert.pooler.'))).toBe(false);
    expect(w1.has('cls.predictions.bias') && w1.has('cls.predictions.transform.dense.weight')).toBe(true);
    expect(existsSync(join(first, 'head_config.json'))).toBe(true);
    expect(readFileSync(join(first, 'README.md'), 'utf8')).toContain(p1!.command);

    const second = join(tmp, 'phase2');
    const b = await runMain(['pretrain', '--corpus', corpus, '--init', first, '--out', second, '--steps', '2', '--batch-size', '4', '--seed', '43', '--backend', 'cpu']);
    expect(b.code, b.stderr).toBe(0);
    const phases = phasesOf(second);
    expect(phases).toHaveLength(2);
    expect(phases[0]).toEqual(p1);
    expect(phases[1]).toMatchObject({ init: first, steps: 2, maxLength: 32, seed: 43 });
    expect(phases[1]!.command).toBe(`adapterkit pretrain --corpus ${corpus} --out ${second} --init ${first} --steps 2 --batch-size 4 --lr 0.0005 --seed 43 --backend cpu`);
    expect(phases.reduce((n, p) => n + p.steps, 0)).toBe(6);
    expect(readFileSync(join(second, 'config.json'), 'utf8')).toBe(readFileSync(join(first, 'config.json'), 'utf8'));
    expect(readFileSync(join(second, 'tokenizer.json'), 'utf8')).toBe(readFileSync(join(first, 'tokenizer.json'), 'utf8'));
    const card = readFileSync(join(second, 'README.md'), 'utf8');
    expect(card).toContain('phase 2 (continued from phase 1)');
    expect(card).toMatch(/\| 2 \| 6 \| \d+\.\d{4} \| \d+\.\d{2} \|/);

    const w2 = (await readSafetensors(join(second, 'model.safetensors'))).tensors;
    expect([...w2.keys()].sort()).toEqual([...w1.keys()].sort());
    const changed = (key: string): boolean => w1.get(key)!.data.some((v, i) => v !== w2.get(key)!.data[i]);
    expect(changed('bert.encoder.layer.0.attention.self.query.weight')).toBe(true);
    expect(changed('cls.predictions.bias')).toBe(true);
  });

  it('reports a bad --init folder in one line', async () => {
    const base = ['pretrain', '--corpus', corpus, '--out', join(tmp, 'bad'), '--steps', '1', '--backend', 'cpu'];
    const cases: Array<[string[], RegExp]> = [
      [[...base, '--init', join(tmp, 'nowhere')], /--init .*nowhere: no such directory/],
      [[...base, '--init', GOLDEN_BERT], /--init .*bert: no tokenizer\.json \(not a model folder written by 'adapterkit pretrain'\)/],
      [[...base, '--init', corpus], /--init .*corpus\.txt: not a directory/],
      [[...base, '--init', join(tmp, 'phase1'), '--layers', '2'], /--layers cannot be combined with --init/],
      [[...base, '--init', join(tmp, 'phase1'), '--max-length', '64'], /--max-length 64: the --init model has 32 positions/],
    ];
    for (const [argv, message] of cases) {
      const r = await runMain(argv);
      expect(r.code, `${argv.join(' ')}\n${r.stderr}`).toBe(1);
      expect(errorLine(r.stderr)).toMatch(message);
    }
    expect(existsSync(join(tmp, 'bad'))).toBe(false);
  });
});
