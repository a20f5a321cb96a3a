import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli/errors';
import { parseSetup } from './setup';

describe('parseSetup bounds', () => {
  it('parses a nested composition', () => {
    expect(parseSetup('Stack[a, Fuse[b, c]]')).toBeDefined();
  });
  it('rejects 100,000 nested blocks with a UsageError, not a stack overflow', () => {
    const text = 'Stack['.repeat(100_000) + 'a' + ']'.repeat(100_000);
    expect(() => parseSetup(text)).toThrow(UsageError);
    expect(() => parseSetup(text)).toThrow(/nested deeper than 64 levels/);
  });
  it('keeps the message short for a 1 M-character unknown block', () => {
    try {
      parseSetup('Q'.repeat(1_000_000) + '[a]');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message.length).toBeLessThan(500);
    }
  });
});
