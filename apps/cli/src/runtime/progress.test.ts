import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress } from './progress';

function capture(): PassThrough & { text: () => string } {
  const chunks: Buffer[] = [];
  const s = new PassThrough() as PassThrough & { text: () => string };
  s.on('data', (d: Buffer) => chunks.push(d));
  s.text = () => Buffer.concat(chunks).toString('utf8');
  return s;
}

describe('Progress ETA', () => {
  it('does not time the slow first step: first ETA from the steps after it', () => {
    let clock = 0;
    const out = capture();
    const p = new Progress(out, 'train', 100, () => clock);
    clock = 30_000; // step 1: 30 s of set-up and kernel compilation
    p.update({ step: 1, loss: 1, tokensPerSecond: 10 });
    clock += 3_000; // then 3 s a step
    p.update({ step: 2, loss: 1, tokensPerSecond: 10 });
    const lines = out.text().trim().split('\n');
    expect(lines[0]).toMatch(/^train step +1\/100 .* ETA …$/);
    // 98 steps × 3 s = 4:54 (timing step 1 as well gave 33 s × 99 = 54 minutes)
    expect(lines[1]).toMatch(/^train step +2\/100 .* ETA 4:54$/);
  });

  it('counts from the step a resumed run starts at', () => {
    let clock = 0;
    const out = capture();
    const p = new Progress(out, 'train', 20, () => clock);
    p.update({ step: 11, loss: 1, tokensPerSecond: 10 });
    clock += 2_000;
    p.update({ step: 12, loss: 1, tokensPerSecond: 10 });
    expect(out.text()).toMatch(/12\/20 .* ETA 0:16\n$/);
  });
});
