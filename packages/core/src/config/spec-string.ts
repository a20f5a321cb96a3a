import { AdapterKitError } from '../errors';
import { ConfigParseError } from './errors';
import { bareWordReason, defineEntry, isLiteralKeyword, joinPath, parseLiteralAt, type PyValue } from './literal';

/** One `name[key=value, ...]` chunk of an adapter config string. */
export interface AdapterSpecChunk {
  /** Config name, trimmed (e.g. `pfeiffer`). */
  name: string;
  /** Keyword arguments in the order written; `{}` when there were no brackets or `[]`. */
  kwargs: Record<string, PyValue>;
  /**
   * Encoded paths (see `joinPath` in `./literal`), relative to `kwargs`, of numbers that
   * were written as floats, e.g. `scaling` or `reduction_factor/default`.
   */
  floatKeys: Set<string>;
  /** Offset of the chunk's name in the whole input. */
  start: number;
}

/** Input accepted by {@link formatAdapterSpec}: a chunk without its source position. */
export interface AdapterSpecChunkInput {
  /** Config name. */
  name: string;
  /** Keyword arguments; omitted or empty means no brackets. */
  kwargs?: Record<string, PyValue>;
  /** Encoded paths (relative to `kwargs`) of numbers to print as floats. */
  floatKeys?: Set<string>;
}

const SUBJECT = 'adapter config string';
const KEY_RE = /[\p{L}\p{N}_]+/uy;
const KEY_FULL_RE = /^[\p{L}\p{N}_]+$/u;
const WORD_RE = /[\p{L}_][\p{L}\p{N}_]*/uy;
/** Characters that may not appear inside a config name (after trimming). */
const BAD_NAME_CHARS: Readonly<Record<string, string>> = {
  '=': "keyword arguments go inside brackets, e.g. name[key=value]",
  ',': "keyword arguments go inside brackets, e.g. name[key=value, key2=value2]",
  "'": 'config names are not quoted',
  '"': 'config names are not quoted',
  '\n': 'config names cannot contain line breaks',
  '\r': 'config names cannot contain line breaks',
};

function isWs(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

/**
 * Parses an AdapterHub adapter config string such as `pfeiffer[reduction_factor=2]`,
 * `prefix_tuning[bottleneck_size=800]|parallel` or
 * `lora[r=16, alpha=32, attn_matrices=['q','k','v']]`.
 *
 * Chunks are separated by top-level `|` (a `|` inside quotes or brackets is not a
 * separator) and trimmed. Each chunk is a name (anything except `[ ] | = , ' "` and line
 * breaks) optionally followed by `[key=value, ...]`, where keys are `\w+` and values are
 * Python literals (see `parseLiteralAt`; `true`/`false`/`null` are accepted too). `[]` is
 * allowed, trailing commas are allowed, duplicate keys and text after `]` are errors.
 *
 * @param input - The config string.
 * @returns The chunks in order.
 * @throws ConfigParseError with the exact position in `input` on any syntax error.
 */
export function parseAdapterSpec(input: string): AdapterSpecChunk[] {
  const fail = (position: number, reason: string): never => {
    throw new ConfigParseError(input, position, reason, { subject: SUBJECT });
  };
  const chunks: AdapterSpecChunk[] = [];
  let pos = 0;
  for (;;) {
    while (isWs(input[pos])) pos++;
    const start = pos;
    while (pos < input.length && input[pos] !== '[' && input[pos] !== ']' && input[pos] !== '|') pos++;
    let nameEnd = pos;
    while (nameEnd > start && isWs(input[nameEnd - 1])) nameEnd--;
    const name = input.slice(start, nameEnd);
    if (name === '') {
      const c = input[pos];
      if (c === undefined) {
        fail(pos, chunks.length === 0 ? 'expected an adapter config name' : "expected an adapter config name after '|'");
      }
      fail(pos, `expected an adapter config name before '${c}'`);
    }
    for (let i = start; i < nameEnd; i++) {
      const bad = BAD_NAME_CHARS[input[i] ?? ''];
      if (bad !== undefined) fail(i, `unexpected ${JSON.stringify(input[i])} in config name '${name}'; ${bad}`);
    }
    const kwargs: Record<string, PyValue> = {};
    const floatKeys = new Set<string>();
    if (input[pos] === ']') fail(pos, "unexpected ']' without a matching '['");
    if (input[pos] === '[') {
      pos = parseKwargs(input, pos, kwargs, floatKeys, fail);
      while (isWs(input[pos])) pos++;
      const c = input[pos];
      if (c !== undefined && c !== '|') fail(pos, `unexpected '${c}' after ']'; expected '|' or the end of the string`);
    }
    chunks.push({ name, kwargs, floatKeys, start });
    if (pos >= input.length) return chunks;
    pos++; // skip '|'
  }
}

/** Parses `[k=v, ...]` starting at the `[`; returns the index just after the `]`. */
function parseKwargs(
  input: string,
  open: number,
  kwargs: Record<string, PyValue>,
  floatKeys: Set<string>,
  fail: (position: number, reason: string) => never,
): number {
  const unclosed = (): never => fail(input.length, `missing closing ']' for '[' at position ${open}`);
  const seen = new Map<string, number>();
  let pos = open + 1;
  while (isWs(input[pos])) pos++;
  if (input[pos] === ']') return pos + 1;
  for (;;) {
    while (isWs(input[pos])) pos++;
    if (pos >= input.length) unclosed();
    const keyPos = pos;
    KEY_RE.lastIndex = pos;
    const key = KEY_RE.exec(input)?.[0];
    if (key === undefined) {
      const c = input[pos] ?? '';
      if (c === "'" || c === '"') fail(pos, 'keys are not quoted; write key=value');
      fail(pos, `expected a key name (letters, digits, '_') but found '${c}'`);
    }
    pos += key.length;
    while (isWs(input[pos])) pos++;
    const eq = input[pos];
    if (eq === undefined) unclosed();
    if (eq !== '=') {
      if (eq === ':') fail(pos, `expected '=' after key '${key}'; use ${key}=value, not ${key}: value`);
      fail(pos, `expected '=' after key '${key}'`);
    }
    pos++;
    while (isWs(input[pos])) pos++;
    const c = input[pos];
    if (c === undefined || c === ',' || c === ']' || c === '|') fail(pos, "expected a value after '='");
    WORD_RE.lastIndex = pos;
    const word = WORD_RE.exec(input)?.[0];
    if (word !== undefined && !isLiteralKeyword(word)) {
      const raw = /^[^,\]|'"]*/.exec(input.slice(pos))?.[0].trim() ?? word;
      fail(pos, bareWordReason(word, `${key}=${quotePy(raw)}`));
    }
    const prev = seen.get(key);
    if (prev !== undefined) fail(keyPos, `duplicate key '${key}' (first given at position ${prev})`);
    seen.set(key, keyPos);
    const r = parseLiteralAt(input, pos, { subject: SUBJECT });
    defineEntry(kwargs, key, r.value);
    for (const f of r.floatSegments) floatKeys.add(joinPath([key, ...f]));
    pos = r.end;
    while (isWs(input[pos])) pos++;
    const d = input[pos];
    if (d === undefined) unclosed();
    if (d === ']') return pos + 1;
    if (d !== ',') fail(pos, `expected ',' or ']' after the value of '${key}'`);
    pos++;
    while (isWs(input[pos])) pos++;
    if (input[pos] === ']') return pos + 1;
  }
}

/**
 * Formats a number the way Python's `repr(float)` does: shortest round-tripping digits;
 * fixed notation with at least one decimal (`4.0`, `0.0001`, `1234.5`) when the decimal
 * exponent is in [-4, 16), scientific otherwise with a signed, at least two-digit exponent
 * (`1e-05`, `1e+16`, `1e+20`, `1.5e-07`). Non-finite values give `nan`, `inf`, `-inf`.
 *
 * @example pyFloatRepr(4) === '4.0'; pyFloatRepr(1e-5) === '1e-05'; pyFloatRepr(0.5) === '0.5'
 * @param n - The number.
 * @returns Python's `repr(float(n))`.
 */
export function pyFloatRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mant = '', expStr = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mant.replace('.', '');
  const exp = Number(expStr);
  const decpt = exp + 1; // value = 0.<digits> * 10^decpt
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
    if (decpt >= digits.length) return `${sign}${digits}${'0'.repeat(decpt - digits.length)}.0`;
    return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp);
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
}

/**
 * Quotes a string as a single-quoted Python string literal: `\`, `'`, `\n`, `\r`, `\t`
 * and other control characters are escaped; other characters are kept as they are.
 *
 * @param s - The string.
 * @returns The literal, e.g. `'it\'s'`.
 */
export function quotePy(s: string): string {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    const code = c.charCodeAt(0);
    if (c === '\\') out += '\\\\';
    else if (c === "'") out += "\\'";
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += c + s[i + 1];
        i++;
      } else {
        out += `\\u${code.toString(16).padStart(4, '0')}`;
      }
    } else out += c;
  }
  return out + "'";
}

/** Options for `formatPyLiteral`. */
export interface FormatPyLiteralOptions {
  /** Encoded paths of numbers to print as floats (see `joinPath`). */
  floatPaths?: ReadonlySet<string>;
  /** Path segments of `value` itself, prefixed to the paths looked up in `floatPaths`. */
  basePath?: readonly string[];
}

/**
 * Writes a {@link PyValue} as a compact Python literal: `True`/`False`/`None`,
 * single-quoted strings, `['q','v']`, `{'default':16,'11':2}`. A number is printed as a
 * float ({@link pyFloatRepr}) when its path is in `floatPaths`, when it is not an integer,
 * when it is `-0` or when it is beyond the safe-integer range; otherwise as an int.
 *
 * @param value - The value.
 * @param options - Float paths and base path.
 * @returns The literal text, parseable by `parseLiteral` back to the same value.
 * @throws AdapterKitError (`CONFIG_FORMAT_ERROR`) for non-finite numbers or non-literal values.
 */
export function formatPyLiteral(value: PyValue, options?: FormatPyLiteralOptions): string {
  const floats = options?.floatPaths;
  const walk = (v: PyValue, path: string[]): string => {
    if (v === null) return 'None';
    if (v === true) return 'True';
    if (v === false) return 'False';
    if (typeof v === 'string') return quotePy(v);
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) {
        throw new AdapterKitError('CONFIG_FORMAT_ERROR', `cannot write non-finite number ${v} at '${joinPath(path)}'`);
      }
      const asFloat =
        (floats !== undefined && floats.has(joinPath(path))) || !Number.isSafeInteger(v) || Object.is(v, -0);
      return asFloat ? pyFloatRepr(v) : String(v);
    }
    if (Array.isArray(v)) return `[${v.map((x, i) => walk(x, [...path, String(i)])).join(',')}]`;
    if (typeof v === 'object') {
      return `{${Object.keys(v)
        .map((k) => `${quotePy(k)}:${walk(v[k] as PyValue, [...path, k])}`)
        .join(',')}}`;
    }
    throw new AdapterKitError('CONFIG_FORMAT_ERROR', `cannot write ${typeof v} at '${joinPath(path)}' as a Python literal`);
  };
  return walk(value, [...(options?.basePath ?? [])]);
}

/**
 * Writes chunks in the canonical config-string form `name[k=v,k2=v2]|name2` (no spaces;
 * chunks without kwargs have no brackets; values via `formatPyLiteral`).
 *
 * `parseAdapterSpec(formatAdapterSpec(x))` reproduces `x` (names, kwargs and — provided
 * `floatKeys` lists exactly the float-written numbers, including every non-integer —
 * floatKeys), and `formatAdapterSpec(parseAdapterSpec(s))` is a fixed point.
 *
 * @param chunks - The chunks to write (at least one).
 * @returns The config string.
 * @throws AdapterKitError (`CONFIG_FORMAT_ERROR`) for an empty list, invalid names or keys,
 *   or values that are not Python literals.
 */
export function formatAdapterSpec(chunks: ReadonlyArray<AdapterSpecChunkInput>): string {
  if (chunks.length === 0) throw new AdapterKitError('CONFIG_FORMAT_ERROR', 'cannot format an empty list of config chunks');
  return chunks
    .map(({ name, kwargs, floatKeys }) => {
      if (name === '' || name.trim() !== name || /[[\]|=,'"\n\r]/.test(name)) {
        throw new AdapterKitError('CONFIG_FORMAT_ERROR', `invalid adapter config name ${JSON.stringify(name)}`);
      }
      const keys = Object.keys(kwargs ?? {});
      if (kwargs === undefined || keys.length === 0) return name;
      const parts = keys.map((k) => {
        if (!KEY_FULL_RE.test(k)) throw new AdapterKitError('CONFIG_FORMAT_ERROR', `invalid config key ${JSON.stringify(k)}`);
        const text = formatPyLiteral(kwargs[k] as PyValue, floatKeys === undefined ? { basePath: [k] } : { floatPaths: floatKeys, basePath: [k] });
        return `${k}=${text}`;
      });
      return `${name}[${parts.join(',')}]`;
    })
    .join('|');
}

/**
 * Converts `snake_case` to `camelCase`: each run of underscores between an alphanumeric
 * character and a following letter/digit is removed and that character upper-cased
 * (`reduction_factor` → `reductionFactor`, `shared_W_phm` → `sharedWPhm`). Leading and
 * trailing underscores are kept.
 *
 * @param s - A snake_case identifier.
 */
export function snakeToCamel(s: string): string {
  return s.replace(/(?<=[A-Za-z0-9])_+([A-Za-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * Converts `camelCase` to `snake_case`: every upper-case ASCII letter not at the start and
 * not already preceded by `_` gets a `_` before it, and the result is lower-cased
 * (`reductionFactor` → `reduction_factor`, `sharedWPhm` → `shared_w_phm`).
 *
 * @param s - A camelCase identifier.
 */
export function camelToSnake(s: string): string {
  return s.replace(/(?<=[^_])([A-Z])/g, '_$1').toLowerCase();
}

/**
 * Optimal-string-alignment (restricted Damerau–Levenshtein) distance: insertions,
 * deletions, substitutions and transpositions of adjacent characters each cost 1.
 *
 * @param a - First string.
 * @param b - Second string.
 */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2: number[] = new Array<number>(n + 1).fill(0);
  let prev: number[] = Array.from({ length: n + 1 }, (_v, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur: number[] = new Array<number>(n + 1).fill(0);
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n] ?? 0;
}

/** Longest word (in UTF-16 units) for which {@link suggestNearest} computes edit distances. */
const MAX_SUGGEST_LENGTH = 256;

/**
 * Finds the candidate closest to `word` (case-insensitive `editDistance`) for
 * "did you mean ...?" messages. Only candidates within `max(2, floor(word.length / 3))`
 * edits qualify; ties go to the earlier candidate. Words or candidates over 256 characters are never suggested
 * (so the cost stays bounded for attacker-sized names).
 *
 * @example suggestNearest('reducton_factor', ['reduction_factor', 'scaling']) === 'reduction_factor'
 * @param word - The unknown word.
 * @param candidates - Known words.
 * @returns The best candidate, or `undefined` if none is close enough.
 */
export function suggestNearest(word: string, candidates: Iterable<string>): string | undefined {
  // Bounded cost: a name longer than any sensible identifier gets no suggestion, and a candidate whose length
  // differs by more than the limit is skipped without computing the (quadratic) distance.
  if (word.length > MAX_SUGGEST_LENGTH) return undefined;
  const limit = Math.max(2, Math.floor(word.length / 3));
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c.length > MAX_SUGGEST_LENGTH || Math.abs(c.length - w.length) > limit) continue;
    const d = editDistance(w, c.toLowerCase());
    if (d <= limit && d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
