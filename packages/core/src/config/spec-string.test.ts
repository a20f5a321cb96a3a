import { describe, expect, it } from 'vitest';
import { AdapterKitError } from '../errors';
import { ConfigParseError } from './errors';
import { MethodRegistry } from './registry';
import type { PyValue } from './literal';
import {
  camelToSnake,
  editDistance,
  formatAdapterSpec,
  formatPyLiteral,
  parseAdapterSpec,
  pyFloatRepr,
  quotePy,
  snakeToCamel,
  suggestNearest,
  type AdapterSpecChunkInput,
} from './spec-string';

function parseError(input: string): ConfigParseError {
  try {
    parseAdapterSpec(input);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigParseError);
    expect(e).toBeInstanceOf(AdapterKitError);
    return e as ConfigParseError;
  }
  throw new Error(`expected '${input}' to fail`);
}

/** Strips `start` so chunks can be compared with formatter input. */
const strip = (chunks: ReturnType<typeof parseAdapterSpec>) =>
  chunks.map(({ name, kwargs, floatKeys }) => ({ name, kwargs, floatKeys }));

describe('parseAdapterSpec: AdapterHub examples', () => {
  it('pfeiffer[reduction_factor=2]', () => {
    expect(parseAdapterSpec('pfeiffer[reduction_factor=2]')).toEqual([
      { name: 'pfeiffer', kwargs: { reduction_factor: 2 }, floatKeys: new Set(), start: 0 },
    ]);
  });

  it('prefix_tuning[bottleneck_size=800]|parallel', () => {
    expect(parseAdapterSpec('prefix_tuning[bottleneck_size=800]|parallel')).toEqual([
      { name: 'prefix_tuning', kwargs: { bottleneck_size: 800 }, floatKeys: new Set(), start: 0 },
      { name: 'parallel', kwargs: {}, floatKeys: new Set(), start: 35 },
    ]);
  });

  it("lora[r=16, alpha=32, attn_matrices=['q','k','v']]", () => {
    const [c] = parseAdapterSpec("lora[r=16, alpha=32, attn_matrices=['q','k','v']]");
    expect(c?.kwargs).toEqual({ r: 16, alpha: 32, attn_matrices: ['q', 'k', 'v'] });
    expect(Object.keys(c?.kwargs ?? {})).toEqual(['r', 'alpha', 'attn_matrices']);
  });

  it("pfeiffer[reduction_factor={'default': 16, '11': 2}] (nested dict keyed by layer)", () => {
    const [c] = parseAdapterSpec("pfeiffer[reduction_factor={'default': 16, '11': 2}]");
    expect(c?.kwargs).toEqual({ reduction_factor: { default: 16, '11': 2 } });
    const [d] = parseAdapterSpec('pfeiffer[reduction_factor={"default": 16.0, 11: 2}]');
    expect(d?.kwargs).toEqual({ reduction_factor: { default: 16, '11': 2 } });
    expect(d?.floatKeys).toEqual(new Set(['reduction_factor/default']));
  });

  it('pfeiffer[] and bare names', () => {
    expect(parseAdapterSpec('pfeiffer[]')).toEqual([{ name: 'pfeiffer', kwargs: {}, floatKeys: new Set(), start: 0 }]);
    expect(parseAdapterSpec('pfeiffer[ ]')[0]?.kwargs).toEqual({});
    expect(parseAdapterSpec('pfeiffer')[0]?.kwargs).toEqual({});
    expect(parseAdapterSpec('compacter++')[0]?.name).toBe('compacter++');
  });

  it('parallel[scaling=2.0] records float-ness', () => {
    const [c] = parseAdapterSpec('parallel[scaling=2.0]');
    expect(c?.kwargs).toEqual({ scaling: 2 });
    expect(c?.floatKeys).toEqual(new Set(['scaling']));
    expect(parseAdapterSpec('parallel[scaling=2]')[0]?.floatKeys).toEqual(new Set());
  });

  it('accepts Python and JS spellings of keywords', () => {
    const py = parseAdapterSpec("pfeiffer[mh_adapter=True, output_adapter=False, inv_adapter=None]");
    const js = parseAdapterSpec('pfeiffer[mh_adapter=true, output_adapter=false, inv_adapter=null]');
    expect(py[0]?.kwargs).toEqual({ mh_adapter: true, output_adapter: false, inv_adapter: null });
    expect(js[0]?.kwargs).toEqual(py[0]?.kwargs);
  });

  it('accepts both quote styles, tuples and trailing commas', () => {
    expect(parseAdapterSpec(`lora[attn_matrices=("q", 'v'), r=8,]`)[0]?.kwargs).toEqual({ attn_matrices: ['q', 'v'], r: 8 });
    expect(parseAdapterSpec("lora[attn_matrices=['q',]]")[0]?.kwargs).toEqual({ attn_matrices: ['q'] });
  });

  it("a|b[c={'x': [1, 2.5, None]}]", () => {
    expect(parseAdapterSpec("a|b[c={'x': [1, 2.5, None]}]")).toEqual([
      { name: 'a', kwargs: {}, floatKeys: new Set(), start: 0 },
      { name: 'b', kwargs: { c: { x: [1, 2.5, null] } }, floatKeys: new Set(['c/x/1']), start: 2 },
    ]);
  });

  it('trims chunks and names, and records chunk offsets', () => {
    const chunks = parseAdapterSpec('  prefix_tuning [ bottleneck_size = 800 ] |\n parallel  ');
    expect(chunks.map((c) => [c.name, c.start])).toEqual([
      ['prefix_tuning', 2],
      ['parallel', 45],
    ]);
    expect(chunks[0]?.kwargs).toEqual({ bottleneck_size: 800 });
  });

  it("does not split on '|' inside quotes or brackets", () => {
    const chunks = parseAdapterSpec("a[x='p|q', y=['|']]|b");
    expect(chunks.map((c) => c.name)).toEqual(['a', 'b']);
    expect(chunks[0]?.kwargs).toEqual({ x: 'p|q', y: ['|'] });
  });

  it('returns kwargs whose __proto__ key is a plain property', () => {
    const [c] = parseAdapterSpec('a[__proto__=1]');
    expect(Object.keys(c?.kwargs ?? {})).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(c?.kwargs)).toBe(Object.prototype);
  });
});

describe('parseAdapterSpec: errors', () => {
  it('pfeiffer[reduction_factor=] → expected a value, with caret line', () => {
    const e = parseError('pfeiffer[reduction_factor=]');
    expect(e.position).toBe(26);
    expect(e.input).toBe('pfeiffer[reduction_factor=]');
    expect(e.code).toBe('CONFIG_PARSE_ERROR');
    expect(e.name).toBe('ConfigParseError');
    expect(e.message).toBe(
      [
        "Invalid adapter config string at position 26: expected a value after '='",
        '  pfeiffer[reduction_factor=]',
        '                            ^',
      ].join('\n'),
    );
  });

  it('pfeiffer[non_linearity=gelu] → suggests quoting', () => {
    const e = parseError('pfeiffer[non_linearity=gelu]');
    expect(e.position).toBe(23);
    expect(e.message).toContain("non_linearity='gelu'");
    expect(e.message.split('\n')[2]).toBe(`  ${' '.repeat(23)}^`);
    expect(parseError("pfeiffer[hypercomplex_nonlinearity=glorot-uniform]").message).toContain(
      "hypercomplex_nonlinearity='glorot-uniform'",
    );
    expect(parseError('pfeiffer[mh_adapter=TRUE]').message).toContain('did you mean True?');
  });

  it('pfeiffer[reduction_factor=2 → missing ]', () => {
    const e = parseError('pfeiffer[reduction_factor=2');
    expect(e.position).toBe(27);
    expect(e.reason).toBe("missing closing ']' for '[' at position 8");
    expect(e.message.split('\n')[2]).toBe(`  ${' '.repeat(27)}^`);
  });

  it('pfeiffer] → unmatched bracket', () => {
    const e = parseError('pfeiffer]');
    expect(e.position).toBe(8);
    expect(e.reason).toContain("']'");
  });

  it('|pfeiffer and pfeiffer| and empty input → missing name', () => {
    expect(parseError('|pfeiffer').position).toBe(0);
    expect(parseError('pfeiffer|').position).toBe(9);
    expect(parseError('pfeiffer||houlsby').position).toBe(9);
    expect(parseError('').position).toBe(0);
    expect(parseError('   ').position).toBe(3);
    expect(parseError('[r=1]').position).toBe(0);
  });

  it('pfeiffer[a=1,a=2] → duplicate key at the second occurrence', () => {
    const e = parseError('pfeiffer[a=1,a=2]');
    expect(e.position).toBe(13);
    expect(e.reason).toBe("duplicate key 'a' (first given at position 9)");
  });

  it('pfeiffer[r=1]x → text after ]', () => {
    expect(parseError('pfeiffer[r=1]x').position).toBe(13);
    expect(parseError('pfeiffer[r=1] [s=2]').position).toBe(14);
  });

  it('unterminated string → position of the opening quote', () => {
    const e = parseError("pfeiffer[non_linearity='relu]");
    expect(e.position).toBe(23);
    expect(e.reason).toBe('unterminated string literal');
    expect(parseError('a|b[x="abc').position).toBe(6);
  });

  it('positions inside later chunks are relative to the whole input', () => {
    expect(parseError("houlsby|pfeiffer[attn=['q', v]]").position).toBe(28);
    expect(parseError('houlsby | lora[r=1 2]').position).toBe(19);
  });

  it('other malformed kwargs', () => {
    expect(parseError('pfeiffer[=2]').position).toBe(9);
    expect(parseError("pfeiffer['a'=2]").reason).toContain('not quoted');
    expect(parseError('pfeiffer[a]').position).toBe(10);
    expect(parseError('pfeiffer[a: 2]').reason).toContain("use a=value");
    expect(parseError('pfeiffer[a=1,,b=2]').position).toBe(13);
    expect(parseError('pfeiffer[a=1|b]').position).toBe(12);
    expect(parseError('pfeiffer[a=]|b').position).toBe(11);
  });

  it('rejects suspicious characters in names', () => {
    expect(parseError('pfeiffer,reduction_factor=2').position).toBe(8);
    expect(parseError('reduction_factor=2').position).toBe(16);
    expect(parseError("'pfeiffer'").position).toBe(0);
  });

  it('shows only the offending line for multi-line input', () => {
    const e = parseError('houlsby|\npfeiffer[x=]');
    expect(e.position).toBe(20);
    expect(e.message.split('\n').slice(1)).toEqual(['  pfeiffer[x=]', `  ${' '.repeat(11)}^`]);
  });
});

describe('formatAdapterSpec', () => {
  it('writes the canonical form', () => {
    expect(
      formatAdapterSpec([
        { name: 'lora', kwargs: { r: 16, alpha: 32, attn_matrices: ['q', 'k', 'v'] } },
        { name: 'parallel', kwargs: { scaling: 2 }, floatKeys: new Set(['scaling']) },
        { name: 'pfeiffer', kwargs: {} },
        { name: 'houlsby' },
      ]),
    ).toBe("lora[r=16,alpha=32,attn_matrices=['q','k','v']]|parallel[scaling=2.0]|pfeiffer|houlsby");
    expect(
      formatAdapterSpec([
        {
          name: 'x',
          kwargs: { d: { default: 16, layer: 2 }, t: true, f: false, n: null, s: "it's", lr: 0.0001, eps: 1e-5, big: 1e20 },
        },
      ]),
    ).toBe("x[d={'default':16,'layer':2},t=True,f=False,n=None,s='it\\'s',lr=0.0001,eps=1e-05,big=1e+20]");
  });

  it('prints nested float keys as floats', () => {
    expect(
      formatAdapterSpec([
        { name: 'p', kwargs: { reduction_factor: { default: 16, '11': 2 } }, floatKeys: new Set(['reduction_factor/default']) },
      ]),
    ).toBe("p[reduction_factor={'11':2,'default':16.0}]");
  });

  it('rejects unformattable input', () => {
    expect(() => formatAdapterSpec([])).toThrow(AdapterKitError);
    expect(() => formatAdapterSpec([{ name: 'a[b' }])).toThrow(/invalid adapter config name/);
    expect(() => formatAdapterSpec([{ name: ' a' }])).toThrow(/invalid adapter config name/);
    expect(() => formatAdapterSpec([{ name: 'a', kwargs: { 'x-y': 1 } }])).toThrow(/invalid config key/);
    expect(() => formatAdapterSpec([{ name: 'a', kwargs: { x: Infinity } }])).toThrow(/non-finite/);
  });

  const examples = [
    'pfeiffer[reduction_factor=2]',
    'prefix_tuning[bottleneck_size=800]|parallel',
    "lora[r=16, alpha=32, attn_matrices=['q','k','v']]",
    "pfeiffer[reduction_factor={'default': 16, '11': 2}]",
    'pfeiffer[]',
    'parallel[scaling=2.0]',
    "a|b[c={'x': [1, 2.5, None]}]",
    "lora[attn_matrices=['q',]]",
    'x[a=true, b=null, c=-0.0, d=1e-5, e=.5, f=1e20, g=-3, h=(1,), i="tab\\there\\\\ \'q\'", j=\'\\u00e9\\x00\']',
    'x[a={1: {2: [3.0, (4, 5.5)]}}, b="|[]", c={}]',
  ];

  it.each(examples)('format(parse(%s)) is a fixed point and round-trips', (s) => {
    const parsed = parseAdapterSpec(s);
    const once = formatAdapterSpec(parsed);
    const reparsed = parseAdapterSpec(once);
    expect(strip(reparsed)).toEqual(strip(parsed));
    expect(formatAdapterSpec(reparsed)).toBe(once);
  });

  it('parse(format(x)) deep-equals x for random normalized chunks', () => {
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    const strings = ['q', "it's", 'a"b', 'back\\slash', 'new\nline', 'é😀', '|[]{},=', ''];
    const gen = (depth: number, path: string[], floats: Set<string>): PyValue => {
      const r = rnd();
      if (depth > 2 || r < 0.5) {
        const kind = pick(['int', 'float', 'nonint', 'str', 'bool', 'null']);
        if (kind === 'int') return Math.floor(rnd() * 2000) - 1000;
        if (kind === 'float') {
          floats.add(path.join('/'));
          return Math.floor(rnd() * 20);
        }
        if (kind === 'nonint') {
          floats.add(path.join('/'));
          return pick([0.5, 1e-5, -2.25e-7, 3.14159, 1e-4, 123.456]);
        }
        if (kind === 'str') return pick(strings);
        if (kind === 'bool') return rnd() < 0.5;
        return null;
      }
      if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, (_x, i) => gen(depth + 1, [...path, String(i)], floats));
      const o: Record<string, PyValue> = {};
      for (const k of ['default', 'k1', 'k2'].slice(0, Math.floor(rnd() * 4))) o[k] = gen(depth + 1, [...path, k], floats);
      return o;
    };
    for (let n = 0; n < 200; n++) {
      const chunks: AdapterSpecChunkInput[] = [];
      for (let c = 0; c <= Math.floor(rnd() * 3); c++) {
        const kwargs: Record<string, PyValue> = {};
        const floatKeys = new Set<string>();
        for (const k of ['reduction_factor', 'scaling', 'attn_matrices'].slice(0, Math.floor(rnd() * 4))) {
          kwargs[k] = gen(0, [k], floatKeys);
        }
        chunks.push({ name: pick(['pfeiffer', 'lora', 'compacter++', 'my config']), kwargs, floatKeys });
      }
      const text = formatAdapterSpec(chunks);
      expect(strip(parseAdapterSpec(text))).toEqual(chunks);
    }
  });
});

describe('formatPyLiteral / quotePy', () => {
  it('writes Python literal syntax', () => {
    expect(formatPyLiteral(['q', 'v'])).toBe("['q','v']");
    expect(formatPyLiteral({ default: 16, x: [1, 2.5, null] })).toBe("{'default':16,'x':[1,2.5,None]}");
    expect(formatPyLiteral(4, { floatPaths: new Set(['']) })).toBe('4.0');
    expect(formatPyLiteral(-0)).toBe('-0.0');
    expect(quotePy("a'b\\c\n\u0001")).toBe("'a\\'b\\\\c\\n\\x01'");
    expect(quotePy('\ud800')).toBe("'\\ud800'");
  });
});

describe('pyFloatRepr', () => {
  it('matches Python repr(float)', () => {
    const cases: Array<[number, string]> = [
      [4, '4.0'],
      [0.0001, '0.0001'],
      [1e-5, '1e-05'],
      [1e20, '1e+20'],
      [0.5, '0.5'],
      [1, '1.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [-2.5, '-2.5'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [123456789.125, '123456789.125'],
      [1.5e-7, '1.5e-07'],
      [1e100, '1e+100'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [NaN, 'nan'],
      [Infinity, 'inf'],
      [-Infinity, '-inf'],
    ];
    for (const [n, s] of cases) expect(pyFloatRepr(n)).toBe(s);
  });
});

describe('snakeToCamel / camelToSnake', () => {
  it('converts simple identifiers', () => {
    expect(snakeToCamel('reduction_factor')).toBe('reductionFactor');
    expect(snakeToCamel('original_ln_after')).toBe('originalLnAfter');
    expect(snakeToCamel('shared_W_phm')).toBe('sharedWPhm');
    expect(snakeToCamel('r')).toBe('r');
    expect(snakeToCamel('_private_x_')).toBe('_privateX_');
    expect(camelToSnake('reductionFactor')).toBe('reduction_factor');
    expect(camelToSnake('originalLnAfter')).toBe('original_ln_after');
    expect(camelToSnake('sharedWPhm')).toBe('shared_w_phm');
    expect(camelToSnake('Scaling')).toBe('scaling');
    expect(camelToSnake('already_snake')).toBe('already_snake');
    for (const s of ['reduction_factor', 'mh_adapter', 'inv_adapter_reduction_factor', 'r']) {
      expect(camelToSnake(snakeToCamel(s))).toBe(s);
    }
  });
});

describe('suggestNearest', () => {
  const keys = ['reduction_factor', 'non_linearity', 'scaling', 'residual_before_ln', 'mh_adapter'];
  it('finds close matches', () => {
    expect(suggestNearest('reducton_factor', keys)).toBe('reduction_factor');
    expect(suggestNearest('redcution_factor', keys)).toBe('reduction_factor'); // transposition
    expect(suggestNearest('Scaling', keys)).toBe('scaling');
    expect(suggestNearest('scalng', new Set(keys))).toBe('scaling');
    expect(suggestNearest('nonlinearity', keys)).toBe('non_linearity');
  });
  it('returns undefined when nothing is close', () => {
    expect(suggestNearest('dropout', keys)).toBeUndefined();
    expect(suggestNearest('xyz', [])).toBeUndefined();
  });
  it('gives no suggestion for a 1 M-character name and skips candidates of very different length', () => {
    expect(suggestNearest('x'.repeat(1_000_000), keys)).toBeUndefined();
    expect(suggestNearest('a'.repeat(257), ['a'.repeat(257)])).toBeUndefined();
    expect(suggestNearest('scalin', ['scaling', 'reduction_factor_with_a_long_tail'])).toBe('scaling');
  });
  it('the registry error for a 1 M-character config name is typed and short', () => {
    const reg = new MethodRegistry([]);
    try {
      reg.lookupConfigName('y'.repeat(1_000_000));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(AdapterKitError);
      expect((err as AdapterKitError).code).toBe('UNKNOWN_CONFIG');
      expect((err as Error).message.length).toBeLessThan(400);
    }
  });
  it('editDistance counts adjacent transpositions once', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
