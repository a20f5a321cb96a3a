import { ConfigParseError } from './errors';

/**
 * A value that can be written as a Python literal in an adapter config string.
 *
 * Python tuples become arrays, dict keys are always strings (integer keys such as
 * `{11: 2}` become `'11'`), and ints and floats are both plain JS numbers. Whether a
 * number was *written* as a float (`2.0`, `1e-4`, `.5`) is reported separately as a
 * set of float paths (see {@link joinPath}).
 */
export type PyValue = number | string | boolean | null | PyValue[] | { [k: string]: PyValue };

/**
 * Joins path segments (dict keys or list indices) into a float-path string:
 * segments separated by `/`, with `~` escaped as `~0` and `/` as `~1` (JSON-pointer style,
 * without the leading slash). The empty path (the value itself) is `''`.
 *
 * @example joinPath(['reduction_factor', 'default']) === 'reduction_factor/default'
 * @param segments - Keys and list indices from the outside in.
 * @returns The encoded path.
 */
export function joinPath(segments: readonly string[]): string {
  return segments.map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
}

/**
 * Inverse of {@link joinPath}: splits a float-path string into its segments.
 *
 * @param path - An encoded path; `''` yields `[]`.
 * @returns The decoded segments.
 */
export function splitPath(path: string): string[] {
  if (path === '') return [];
  return path.split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Options for {@link parseLiteral} and `parseLiteralAt`. */
export interface LiteralParseOptions {
  /** Label used in error messages (`Invalid <subject> at position N`). Defaults to `Python literal`. */
  subject?: string;
}

/** Result of `parseLiteralAt`. */
export interface LiteralAtResult {
  /** The parsed value. */
  value: PyValue;
  /** Index just after the last character of the value (trailing whitespace is not consumed). */
  end: number;
  /**
   * Paths (as segment arrays, relative to the value) of numbers written as floats;
   * `[]` means the value itself is a float.
   */
  floatSegments: string[][];
}

/** Result of {@link parseLiteral}. */
export interface LiteralParseResult {
  /** The parsed value. */
  value: PyValue;
  /**
   * Encoded paths (see {@link joinPath}) of numbers written as floats; `''` means the
   * value itself is a float.
   */
  floatPaths: Set<string>;
}

interface Parsed {
  value: PyValue;
  floats: string[][];
}

const KEYWORDS: Readonly<Record<string, boolean | null>> = {
  True: true,
  False: false,
  None: null,
  true: true,
  false: false,
  null: null,
};

const KEYWORD_SUGGESTION: Readonly<Record<string, string>> = {
  true: 'True',
  false: 'False',
  none: 'None',
  null: 'None',
};

const WORD_RE = /[\p{L}_][\p{L}\p{N}_]*/uy;
const NUMBER_RE = /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
const IDENT_CHAR_RE = /[\p{L}\p{N}_.]/u;

/**
 * Returns `true` when `s` is one of the keyword literals accepted as values
 * (`True`, `False`, `None` and the JS spellings `true`, `false`, `null`).
 *
 * @param s - A bare word.
 */
export function isLiteralKeyword(s: string): boolean {
  return Object.prototype.hasOwnProperty.call(KEYWORDS, s);
}

/**
 * Builds the explanation for a bare (unquoted) word used where a value was expected.
 *
 * @param word - The bare word.
 * @param quoted - What to show as the quoted replacement, e.g. `non_linearity='gelu'`.
 * @returns A reason string for a {@link ConfigParseError}.
 */
export function bareWordReason(word: string, quoted: string): string {
  const kw = KEYWORD_SUGGESTION[word.toLowerCase()];
  if (kw !== undefined) return `unknown literal '${word}'; did you mean ${kw}?`;
  return `unquoted value '${word}'; string values must be quoted, e.g. ${quoted}`;
}

/** Defines an own enumerable property without triggering setters such as `__proto__`. */
export function defineEntry(obj: { [k: string]: PyValue }, key: string, value: PyValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function isWs(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

function isHex(s: string): boolean {
  return /^[0-9a-fA-F]+$/.test(s);
}

/** Deepest nesting of lists, tuples and dicts `parseLiteralAt` accepts (bounds the parser's stack use). */
export const MAX_LITERAL_DEPTH = 100;

class LiteralParser {
  pos: number;
  depth = 0;

  constructor(
    readonly input: string,
    start: number,
    readonly subject: string,
  ) {
    this.pos = start;
  }

  fail(position: number, reason: string): never {
    throw new ConfigParseError(this.input, position, reason, { subject: this.subject });
  }

  skipWs(): void {
    while (isWs(this.input[this.pos])) this.pos++;
  }

  parseValue(): Parsed {
    this.skipWs();
    const start = this.pos;
    const c = this.input[start];
    if (c === undefined) this.fail(start, 'expected a value but reached the end of the input');
    if (c === "'" || c === '"') return { value: this.parseStrings(), floats: [] };
    if (c === '[' || c === '(' || c === '{') {
      if (this.depth >= MAX_LITERAL_DEPTH) {
        this.fail(start, `nesting deeper than ${MAX_LITERAL_DEPTH} levels of lists, tuples or dicts`);
      }
      this.depth++;
      const r = c === '[' ? this.parseList() : c === '(' ? this.parseTuple() : this.parseDict();
      this.depth--;
      return r;
    }
    if (c === '-' || c === '+' || (c >= '0' && c <= '9') || c === '.') return this.parseNumber();
    WORD_RE.lastIndex = start;
    const word = WORD_RE.exec(this.input)?.[0];
    if (word !== undefined) {
      if (isLiteralKeyword(word)) {
        this.pos += word.length;
        return { value: KEYWORDS[word] ?? null, floats: [] };
      }
      this.fail(start, bareWordReason(word, `'${word}'`));
    }
    if (c === ',' || c === ']' || c === ')' || c === '}' || c === ':') this.fail(start, `expected a value before '${c}'`);
    this.fail(start, `unexpected character '${c}'`);
  }

  /** Parses one string or several adjacent ones (Python implicit concatenation). */
  parseStrings(): string {
    let out = this.parseString();
    for (;;) {
      const save = this.pos;
      this.skipWs();
      const c = this.input[this.pos];
      if (c === "'" || c === '"') {
        out += this.parseString();
      } else {
        this.pos = save;
        return out;
      }
    }
  }

  parseString(): string {
    const input = this.input;
    const open = this.pos;
    const quote = input[open];
    let out = '';
    let i = open + 1;
    for (;;) {
      const c = input[i];
      if (c === undefined || c === '\n' || c === '\r') this.fail(open, 'unterminated string literal');
      if (c === quote) {
        this.pos = i + 1;
        return out;
      }
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      const e = input[i + 1];
      switch (e) {
        case undefined:
          this.fail(open, 'unterminated string literal');
        case '\n':
          i += 2;
          break;
        case '\r':
          i += input[i + 2] === '\n' ? 3 : 2;
          break;
        case '\\':
        case "'":
        case '"':
          out += e;
          i += 2;
          break;
        case 'n':
          out += '\n';
          i += 2;
          break;
        case 't':
          out += '\t';
          i += 2;
          break;
        case 'r':
          out += '\r';
          i += 2;
          break;
        case 'b':
          out += '\b';
          i += 2;
          break;
        case 'f':
          out += '\f';
          i += 2;
          break;
        case 'v':
          out += '\v';
          i += 2;
          break;
        case 'a':
          out += '\u0007';
          i += 2;
          break;
        case 'x':
        case 'u':
        case 'U': {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = input.slice(i + 2, i + 2 + n);
          if (hex.length !== n || !isHex(hex)) this.fail(i, `truncated \\${e} escape: expected ${n} hex digits`);
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff) this.fail(i, `invalid \\U escape: code point out of range`);
          out += String.fromCodePoint(cp);
          i += 2 + n;
          break;
        }
        case 'N':
          this.fail(i, 'named unicode escapes (\\N{...}) are not supported');
        default: {
          const oct = /^[0-7]{1,3}/.exec(input.slice(i + 1, i + 4));
          if (oct) {
            out += String.fromCodePoint(parseInt(oct[0], 8));
            i += 1 + oct[0].length;
          } else {
            // Python keeps unknown escapes verbatim (backslash included).
            out += '\\' + e;
            i += 2;
          }
        }
      }
    }
  }

  parseNumber(): Parsed {
    const input = this.input;
    const start = this.pos;
    let negative = false;
    let i = start;
    const c = input[i];
    if (c === '-' || c === '+') {
      negative = c === '-';
      i++;
      while (isWs(input[i])) i++;
    }
    NUMBER_RE.lastIndex = i;
    const m = NUMBER_RE.exec(input);
    if (!m) {
      if (i !== start) this.fail(i, `expected a number after '${c}'`);
      this.fail(start, `unexpected character '${c}'`);
    }
    const text = m[0];
    const after = input[i + text.length];
    if (after !== undefined && IDENT_CHAR_RE.test(after)) {
      this.fail(i, `invalid number literal '${input.slice(i, i + text.length + 1)}...'`);
    }
    const isFloat = /[.eE]/.test(text);
    let value: number;
    if (isFloat) {
      value = Number(text);
      if (!Number.isFinite(value)) this.fail(i, `float literal '${text}' is out of range`);
      if (negative) value = -value;
    } else {
      if (/^0\d/.test(text) && !/^0+$/.test(text)) {
        this.fail(i, `leading zeros in integer literal '${text}' are not permitted`);
      }
      value = Number(text);
      if (!Number.isSafeInteger(value)) this.fail(i, `integer literal '${text}' is too large`);
      if (negative && value !== 0) value = -value;
    }
    this.pos = i + text.length;
    return { value, floats: isFloat ? [[]] : [] };
  }

  unclosed(open: number, closer: string): never {
    this.fail(this.input.length, `missing closing '${closer}' for '${this.input[open]}' at position ${open}`);
  }

  /** Parses comma-separated items until `closer`; `first` (if given) was already parsed. */
  parseItems(open: number, closer: string, kind: string, first?: Parsed): Parsed {
    const items: PyValue[] = [];
    const floats: string[][] = [];
    const push = (p: Parsed): void => {
      const idx = String(items.length);
      for (const f of p.floats) floats.push([idx, ...f]);
      items.push(p.value);
    };
    if (first !== undefined) {
      push(first);
      // The caller consumed the comma after `first`.
      this.skipWs();
      if (this.input[this.pos] === closer) {
        this.pos++;
        return { value: items, floats };
      }
    } else {
      this.skipWs();
      if (this.input[this.pos] === closer) {
        this.pos++;
        return { value: items, floats };
      }
    }
    for (;;) {
      this.skipWs();
      if (this.pos >= this.input.length) this.unclosed(open, closer);
      push(this.parseValue());
      this.skipWs();
      const c = this.input[this.pos];
      if (c === undefined) this.unclosed(open, closer);
      if (c === closer) {
        this.pos++;
        return { value: items, floats };
      }
      if (c !== ',') this.fail(this.pos, `expected ',' or '${closer}' in ${kind} opened at position ${open}`);
      this.pos++;
      this.skipWs();
      if (this.input[this.pos] === closer) {
        this.pos++;
        return { value: items, floats };
      }
    }
  }

  parseList(): Parsed {
    const open = this.pos++;
    return this.parseItems(open, ']', 'list');
  }

  parseTuple(): Parsed {
    const open = this.pos++;
    this.skipWs();
    const c = this.input[this.pos];
    if (c === ')') {
      this.pos++;
      return { value: [], floats: [] };
    }
    if (c === undefined) this.unclosed(open, ')');
    const first = this.parseValue();
    this.skipWs();
    const d = this.input[this.pos];
    if (d === ')') {
      // Parenthesised expression, not a tuple.
      this.pos++;
      return first;
    }
    if (d === undefined) this.unclosed(open, ')');
    if (d !== ',') this.fail(this.pos, `expected ',' or ')' in tuple opened at position ${open}`);
    this.pos++;
    return this.parseItems(open, ')', 'tuple', first);
  }

  parseDict(): Parsed {
    const input = this.input;
    const open = this.pos++;
    const obj: { [k: string]: PyValue } = {};
    const seen = new Map<string, number>();
    const floats: string[][] = [];
    this.skipWs();
    if (input[this.pos] === '}') {
      this.pos++;
      return { value: obj, floats };
    }
    for (;;) {
      this.skipWs();
      if (this.pos >= input.length) this.unclosed(open, '}');
      const keyPos = this.pos;
      const k = this.parseValue();
      let key: string;
      if (typeof k.value === 'string') key = k.value;
      else if (typeof k.value === 'number' && k.floats.length === 0) key = String(k.value);
      else this.fail(keyPos, 'dict keys must be strings or integers');
      this.skipWs();
      const c = input[this.pos];
      if (c === undefined) this.unclosed(open, '}');
      if (c !== ':') {
        if (c === ',' || c === '}') this.fail(open, 'set literals are not supported; use a list [...] instead');
        this.fail(this.pos, `expected ':' after dict key in dict opened at position ${open}`);
      }
      this.pos++;
      const prev = seen.get(key);
      if (prev !== undefined) this.fail(keyPos, `duplicate dict key '${key}' (first given at position ${prev})`);
      seen.set(key, keyPos);
      const v = this.parseValue();
      for (const f of v.floats) floats.push([key, ...f]);
      defineEntry(obj, key, v.value);
      this.skipWs();
      const d = input[this.pos];
      if (d === undefined) this.unclosed(open, '}');
      if (d === '}') {
        this.pos++;
        return { value: obj, floats };
      }
      if (d !== ',') this.fail(this.pos, `expected ',' or '}' in dict opened at position ${open}`);
      this.pos++;
      this.skipWs();
      if (input[this.pos] === '}') {
        this.pos++;
        return { value: obj, floats };
      }
    }
  }
}

/**
 * Parses one Python literal that starts at `start` (leading whitespace allowed) inside a
 * larger text, stopping right after it. Errors are {@link ConfigParseError}s whose
 * position is an index into the whole `input`.
 *
 * Supported: ints (optionally signed), floats (`2.0`, `1.`, `.5`, `1e-4`), strings in `'`
 * or `"` with backslash escapes (adjacent strings concatenate), `True`/`False`/`None` and
 * `true`/`false`/`null`, lists, tuples (→ arrays; `(x)` is just `x`), and dicts with string
 * or integer keys (→ string keys). Trailing commas and whitespace anywhere are allowed.
 * Unquoted words, sets, duplicate dict keys and out-of-range numbers are errors.
 *
 * @param input - The whole text.
 * @param start - Index at which the value (or whitespace before it) begins.
 * @param options - Error-message options.
 * @returns The value, the end index and the relative paths of float literals.
 */
export function parseLiteralAt(input: string, start: number, options?: LiteralParseOptions): LiteralAtResult {
  const p = new LiteralParser(input, start, options?.subject ?? 'Python literal');
  const r = p.parseValue();
  return { value: r.value, end: p.pos, floatSegments: r.floats };
}

/**
 * Parses a complete Python literal (see `parseLiteralAt` for the grammar); only
 * whitespace may follow the value.
 *
 * @example parseLiteral("{'default': 16, 11: 2.0}")
 *   // → { value: { default: 16, '11': 2 }, floatPaths: Set { '11' } }
 * @param text - The literal.
 * @param options - Error-message options.
 * @returns The value and the encoded paths of numbers written as floats.
 * @throws ConfigParseError on malformed input.
 */
export function parseLiteral(text: string, options?: LiteralParseOptions): LiteralParseResult {
  const subject = options?.subject ?? 'Python literal';
  const r = parseLiteralAt(text, 0, { subject });
  let i = r.end;
  while (isWs(text[i])) i++;
  if (i < text.length) {
    throw new ConfigParseError(text, i, `unexpected '${text[i]}' after the value`, { subject });
  }
  return { value: r.value, floatPaths: new Set(r.floatSegments.map(joinPath)) };
}
