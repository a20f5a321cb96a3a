import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseHyper, defaultLearningRate } from './runtime/train-defaults';
import { runMain } from './test-helpers';

/**
 * An easy 3-class CSV of 330 sentences (sports / food / weather, seeded), split 270 train / 60 test — the data of
 * issue 23, where the old defaults (lr 1e-4, 3 epochs, no warm-up) reached 40 % and tuned flags 100 %.
 */
function threeClassCsv(dir: string): { train: string; test: string } {
  let state = 7;
  const rand = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = (xs: readonly string[]): string => xs[Math.floor(rand() * xs.length)]!;
  const classes: Record<string, readonly (readonly string[])[]> = {
    sports: [['the team', 'our captain', 'the striker', 'the coach', 'the players'], ['won the match', 'scored a goal', 'lost the game', 'trained on the field', 'played football'], ['last night', 'in the final', 'at the stadium', 'this season']],
    food: [['my mother', 'the cook', 'the baker', 'our neighbour', 'the chef'], ['baked fresh bread', 'cooked a soup', 'ate an apple', 'made a cake', 'served dinner'], ['for supper', 'in the kitchen', 'with butter', 'at the table']],
    weather: [['the sky', 'the wind', 'the storm', 'the rain', 'the sun'], ['was cold and grey', 'blew hard', 'came from the sea', 'fell all day', 'was warm and bright'], ['this morning', 'over the hills', 'in winter', 'on the coast']],
  };
  const rows: string[] = [];
  for (let i = 0; i < 110; i++) for (const [label, parts] of Object.entries(classes)) rows.push(`${parts.map(pick).join(' ')},${label}`);
  const train = join(dir, 'train.csv');
  const test = join(dir, 'test.csv');
  writeFileSync(train, `text,label\n${rows.slice(0, 270).join('\n')}\n`);
  writeFileSync(test, `text,label\n${rows.slice(270).join('\n')}\n`);
  return { train, test };
}

describe('chooseHyper', () => {
  it('gives a small dataset more epochs, a large one 3, and 10 % warm-up', () => {
    const small = chooseHyper('pfeiffer', 243, 16, {});
    expect(small).toMatchObject({ lr: 3e-3, epochs: 10, steps: 160, warmupSteps: 16 });
    expect(small.defaulted).toEqual(['--lr 0.003 (pfeiffer)', '--epochs 10 (243 examples = 16 steps per epoch)', '--warmup-ratio 0.1 (16 steps)']);
    expect(chooseHyper('lora[r=8]', 5300, 16, {})).toMatchObject({ epochs: 3, steps: 996, warmupSteps: 100 });
    expect(chooseHyper('pfeiffer', 1600, 16, {})).toMatchObject({ epochs: 3 });
    expect(chooseHyper('pfeiffer', 800, 16, {})).toMatchObject({ epochs: 3, steps: 150 });
  });

  it('keeps every value the user gave and names only the defaulted ones', () => {
    const c = chooseHyper('pfeiffer', 243, 16, { lr: 1e-4, epochs: 2, warmup: { steps: 0 } });
    expect(c).toMatchObject({ lr: 1e-4, epochs: 2, steps: 32, warmupSteps: 0, defaulted: [] });
    const s = chooseHyper('pfeiffer', 243, 16, { maxSteps: 40, warmup: { ratio: 0.25 } });
    expect(s).toMatchObject({ steps: 40, warmupSteps: 10, defaulted: ['--lr 0.003 (pfeiffer)'] });
  });

  it('picks the learning rate per method', () => {
    expect(defaultLearningRate('full').lr).toBe(1e-4);
    expect(defaultLearningRate('prompt_tuning[prompt_length=10]').lr).toBe(1e-2);
    expect(defaultLearningRate('lora[r=8,alpha=16]').lr).toBe(3e-3);
    expect(defaultLearningRate('mam').lr).toBe(3e-3);
    expect(defaultLearningRate('pfeiffer[').lr).toBe(3e-3); // the syntax error is reported when the adapter is added
  });
});

describe('adapterkit train with no tuning flags', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'adapterkit-defaults-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('reaches ≥ 90 % test accuracy on an easy 3-class CSV of 330 sentences with the embedded model', async () => {
    const { train, test } = threeClassCsv(tmp);
    const out = join(tmp, 'out');
    const r = await runMain(['train', '--model', 'embedded', '--train', train, '--test', test, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('adapterkit: note: defaults for this run: --lr 0.003 (pfeiffer), --epochs 10 (243 examples = 16 steps per epoch), --warmup-ratio 0.1 (16 steps)');
    expect(r.stderr).toContain("training adapter 'classification' (pfeiffer) on 243 examples (dev 27)");
    expect(r.stdout).toMatch(/final loss \d\.\d{4} \(training loss, mean over the last epoch's 16 steps\)/);
    const m = /test \(60 examples\): loss \d+\.\d+ {2}accuracy (\d\.\d{4})/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(0.9);
    const results = JSON.parse(readFileSync(join(out, 'train_results.json'), 'utf8'));
    expect(results).toMatchObject({ name: 'classification', hyperparameters: { lr: 0.003, epochs: 10, warmup_steps: 16 } });
  }, 600_000);
});
