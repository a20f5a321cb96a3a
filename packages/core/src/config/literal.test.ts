import { describe, expect, it } from 'vitest';
import { ConfigParseError } from './errors';
import { joinPath, parseLiteral, parseLiteralAt, splitPath } from './literal';

function parseError(fn: () => unknown): ConfigParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigParseError);
    return e as ConfigParseError;
  }
  throw new Error('expected a ConfigParseError');
}

const v = (s: string): unknown => parseLiteral(s).value;
const floats = (s: string): string[] => [...parseLiteral(s).floatPaths].sort();

describe('parseLiteral: scalars', () => {
  it('parses ints and records no float paths', () => {
    expect(v('2')).toBe(2);
    expect(v('-7')).toBe(-7);
    expect(v('+3')).toBe(3);
    expect(v('- 4')).toBe(-4);
    expect(v('0')).toBe(0);
    expect(Object.is(v('-0'), 0)).toBe(true);
    expect(v('00')).toBe(0);
    expect(floats('16')).toEqual([]);
  });

  it('parses floats and records them', () => {
    expect(v('2.0')).toBe(2);
    expect(floats('2.0')).toEqual(['']);
    expect(v('1e-4')).toBe(0.0001);
    expect(v('.5')).toBe(0.5);
    expect(v('1.')).toBe(1);
    expect(floats('1.')).toEqual(['']);
    expect(v('-2.5E+3')).toBe(-2500);
    expect(v('01.5')).toBe(1.5);
    expect(Object.is(v('-0.0'), -0)).toBe(true);
  });

  it('parses Python and JS keywords', () => {
    expect(v('True')).toBe(true);
    expect(v('False')).toBe(false);
    expect(v('None')).toBe(null);
    expect(v('true')).toBe(true);
    expect(v('false')).toBe(false);
    expect(v('null')).toBe(null);
  });

  it('parses strings with both quotes and escapes', () => {
    expect(v("'relu'")).toBe('relu');
    expect(v('"relu"')).toBe('relu');
    expect(v(String.raw`'a\nb\tc\'d\"e\\f'`)).toBe('a\nb\tc\'d"e\\f');
    expect(v(String.raw`"\u00e9\x41\U0001F600\101\0"`)).toBe('éA😀A\0');
    expect(v(String.raw`'\d'`)).toBe('\\d'); // unknown escapes are kept, as in Python
    expect(v(`'it"s'`)).toBe('it"s');
    expect(v(`'a' "b"  'c'`)).toBe('abc'); // implicit concatenation
    expect(v(`'héllo'`)).toBe('héllo');
  });
});

describe('parseLiteral: containers', () => {
  it('parses lists, tuples and grouping', () => {
    expect(v("['q', 'k', 'v']")).toEqual(['q', 'k', 'v']);
    expect(v("['q',]")).toEqual(['q']);
    expect(v('[]')).toEqual([]);
    expect(v('( 1 , 2 )')).toEqual([1, 2]);
    expect(v('(1,)')).toEqual([1]);
    expect(v('()')).toEqual([]);
    expect(v('(1)')).toBe(1);
    expect(floats('(1.0)')).toEqual(['']);
    expect(v('[[1, 2], (3,), []]')).toEqual([[1, 2], [3], []]);
  });

  it('parses dicts with string and int keys (int keys become strings)', () => {
    const r = parseLiteral("{'default': 16, 11: 2.0, \"x\": [1, 2.5, None],}");
    expect(r.value).toEqual({ default: 16, '11': 2, x: [1, 2.5, null] });
    expect([...r.floatPaths].sort()).toEqual(['11', 'x/1']);
    expect(v('{}')).toEqual({});
    expect(v('{-1: true}')).toEqual({ '-1': true });
  });

  it('records nested float paths keyed by layer', () => {
    const r = parseLiteral("{'default': 1.0, '11': {'a': [0.5, 3]}, 'a/b': 2.0}");
    expect([...r.floatPaths].sort()).toEqual(['11/a/0', 'a~1b', 'default']);
  });

  it('accepts whitespace anywhere, including newlines', () => {
    expect(v(' \n[ 1 ,\n\t2 , ]\n ')).toEqual([1, 2]);
    expect(v("{ 'a' :\n 1 }")).toEqual({ a: 1 });
  });

  it('stores __proto__ as a plain key', () => {
    const r = v("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    expect(Object.keys(r)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('parseLiteral: errors', () => {
  it('reports unterminated strings at the opening quote', () => {
    const e = parseError(() => parseLiteral("['a', 'bc"));
    expect(e.position).toBe(6);
    expect(e.reason).toBe('unterminated string literal');
    expect(e.message).toBe(
      "Invalid Python literal at position 6: unterminated string literal\n  ['a', 'bc\n        ^",
    );
    expect(parseError(() => parseLiteral("'a\nb'")).position).toBe(0);
  });

  it('rejects bare words and suggests quoting or keyword spelling', () => {
    const e = parseError(() => parseLiteral('[q, v]'));
    expect(e.position).toBe(1);
    expect(e.reason).toContain("'q'");
    expect(parseError(() => parseLiteral('TRUE')).reason).toContain('did you mean True?');
    expect(parseError(() => parseLiteral('none')).reason).toContain('did you mean None?');
  });

  it('reports structural errors with exact positions', () => {
    expect(parseError(() => parseLiteral('[1, 2')).position).toBe(5);
    expect(parseError(() => parseLiteral('[1, 2')).reason).toBe("missing closing ']' for '[' at position 0");
    expect(parseError(() => parseLiteral('[1 2]')).position).toBe(3);
    expect(parseError(() => parseLiteral('[1,,2]')).position).toBe(3);
    expect(parseError(() => parseLiteral('{1, 2}')).reason).toContain('set literals');
    expect(parseError(() => parseLiteral("{'a': 1, 'a': 2}")).position).toBe(9);
    expect(parseError(() => parseLiteral("{'11': 1, 11: 2}")).reason).toContain('duplicate');
    expect(parseError(() => parseLiteral('{1.5: 2}')).reason).toContain('dict keys');
    expect(parseError(() => parseLiteral('{None: 2}')).position).toBe(1);
    expect(parseError(() => parseLiteral('1 2')).position).toBe(2);
    expect(parseError(() => parseLiteral('')).position).toBe(0);
    expect(parseError(() => parseLiteral('   ')).position).toBe(3);
  });

  it('rejects malformed numbers', () => {
    expect(parseError(() => parseLiteral('012')).reason).toContain('leading zeros');
    expect(parseError(() => parseLiteral('0x1f')).position).toBe(0);
    expect(parseError(() => parseLiteral('1.2.3')).position).toBe(0);
    expect(parseError(() => parseLiteral('2x')).position).toBe(0);
    expect(parseError(() => parseLiteral('- x')).position).toBe(2);
    expect(parseError(() => parseLiteral('99999999999999999999')).reason).toContain('too large');
    expect(parseError(() => parseLiteral('1e400')).reason).toContain('out of range');
  });

  it('reports escape errors', () => {
    expect(parseError(() => parseLiteral(String.raw`'\u12'`)).position).toBe(1);
    expect(parseError(() => parseLiteral(String.raw`'\N{DASH}'`)).reason).toContain('not supported');
  });
});

describe('parseLiteralAt', () => {
  it('parses a value inside a larger text and reports the end', () => {
    const input = "x=[1, 2.0] , y";
    const r = parseLiteralAt(input, 2);
    expect(r.value).toEqual([1, 2]);
    expect(r.end).toBe(10);
    expect(r.floatSegments).toEqual([['1']]);
  });

  it('reports errors relative to the whole input', () => {
    const e = parseError(() => parseLiteralAt('abc=[1, foo]', 4, { subject: 'thing' }));
    expect(e.position).toBe(8);
    expect(e.message.startsWith('Invalid thing at position 8:')).toBe(true);
  });
});

describe('joinPath / splitPath', () => {
  it('round-trips segments with separators', () => {
    const segs = ['a/b', '~x', '0', ''];
    expect(joinPath(segs)).toBe('a~1b/~0x/0/');
    expect(splitPath(joinPath(segs))).toEqual(segs);
    expect(joinPath([])).toBe('');
    expect(splitPath('')).toEqual([]);
  });
});

describe('parseLiteral: nesting bound (probe reproducer)', () => {
  it('rejects 100,000 nested brackets with a typed error, not a stack overflow', () => {
    for (const [o, c] of [['[', ']'], ['(', ',)'], ["{'a':", '}']] as const) {
      const text = o.repeat(100_000) + '1' + c.repeat(100_000);
      expect(() => parseLiteral(text)).toThrow(ConfigParseError);
      expect(() => parseLiteral(text)).toThrow(/nesting deeper than 100/);
    }
  });
  it('still accepts 100 levels', () => {
    expect(parseLiteral('['.repeat(100) + ']'.repeat(100)).value).toBeDefined();
  });
});
