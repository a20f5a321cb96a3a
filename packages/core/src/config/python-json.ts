import { sha1Hex } from './sha1';
import { pyFloatRepr } from './spec-string';

/**
 * Decides, from the key path of a number (dict keys and list indices as strings, outermost
 * first; `[]` for the root), whether that number is a Python float and must be written
 * with a decimal point.
 */
export type FloatKeyPredicate = (path: string[]) => boolean;

/** Options for {@link toPythonJson}. */
export interface PythonJsonOptions {
  /** Marks numbers that are floats in Python (integral ones are then written as `4.0`). */
  floatKeys?: FloatKeyPredicate;
  /** Pretty-print with this many spaces per level (Python's `indent`); omit for one line. */
  indent?: number;
  /** Sort dict keys by code point (Python's `sort_keys=True`). Default `false`. */
  sortKeys?: boolean;
}

/** Compares strings by Unicode code point, like Python's `str` ordering. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Move surrogates above the rest of the BMP so UTF-16 order matches code point order.
      const fx = x >= 0xe000 ? x - 0x800 : x >= 0xd800 ? x + 0x2000 : x;
      const fy = y >= 0xe000 ? y - 0x800 : y >= 0xd800 ? y + 0x2000 : y;
      return fx - fy;
    }
  }
  return a.length - b.length;
}

/**
 * Writes a JSON string literal the way Python's `json.dumps` does with `ensure_ascii=True`:
 * `"` and `\` escaped, `\n \r \t \b \f` by name, every other character outside
 * printable ASCII (space–`~`) as a lower-case `\uXXXX` (UTF-16 code units).
 *
 * @param s - The string.
 */
export function pythonJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    const code = s.charCodeAt(i);
    if (c === '"') out += '\\"';
    else if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '\b') out += '\\b';
    else if (c === '\f') out += '\\f';
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out + '"';
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Serialises a JSON-like value exactly like Python's `json.dumps(obj, indent=..., sort_keys=...)`
 * with default separators: `', '` and `': '` on one line, or `','` + newline and `': '`
 * when `indent` is given (including `0`); empty containers are `[]` / `{}`; non-ASCII is
 * escaped (`ensure_ascii`).
 *
 * Numbers: one whose path satisfies `floatKeys`, or that is not an integer, is written as
 * Python's float repr (`4.0`, `0.0001`, `1e-05`; `NaN`/`Infinity`/`-Infinity` as Python
 * does); other numbers as ints (`-0` → `0`, large integers in full digits). Bigints are
 * ints. Object properties whose value is `undefined` are skipped (`undefined` in arrays
 * becomes `null`).
 *
 * @param value - Plain objects, arrays, strings, numbers, bigints, booleans and `null`.
 * @param opts - Float paths, indentation and key sorting.
 * @returns The JSON text, without a trailing newline.
 * @throws TypeError for other values (functions, symbols, class instances) or cycles.
 */
export function toPythonJson(value: unknown, opts: PythonJsonOptions = {}): string {
  const { floatKeys, sortKeys = false } = opts;
  const pretty = opts.indent !== undefined;
  const unit = ' '.repeat(Math.max(0, opts.indent ?? 0));
  const stack = new Set<object>();

  const num = (n: number, path: string[]): string => {
    if (Number.isNaN(n)) return 'NaN';
    if (n === Infinity) return 'Infinity';
    if (n === -Infinity) return '-Infinity';
    if (!Number.isInteger(n) || (floatKeys !== undefined && floatKeys(path))) return pyFloatRepr(n);
    return Number.isSafeInteger(n) ? String(n === 0 ? 0 : n) : BigInt(n).toString();
  };

  const walk = (v: unknown, path: string[], depth: number): string => {
    if (v === null || v === undefined) return 'null';
    switch (typeof v) {
      case 'boolean':
        return v ? 'true' : 'false';
      case 'number':
        return num(v, path);
      case 'bigint':
        return v.toString();
      case 'string':
        return pythonJsonString(v);
      case 'object':
        break;
      default:
        throw new TypeError(`Object of type ${typeof v} is not JSON serializable (at '${path.join('/')}')`);
    }
    if (stack.has(v)) throw new TypeError(`Circular reference detected (at '${path.join('/')}')`);
    const open = pretty ? '\n' + unit.repeat(depth + 1) : '';
    const close = pretty ? '\n' + unit.repeat(depth) : '';
    const sep = pretty ? ',' + open : ', ';
    stack.add(v);
    try {
      if (Array.isArray(v)) {
        if (v.length === 0) return '[]';
        const items = v.map((x, i) => walk(x, [...path, String(i)], depth + 1));
        return `[${open}${items.join(sep)}${close}]`;
      }
      if (!isPlainObject(v)) {
        const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw new TypeError(`Object of type ${name} is not JSON serializable (at '${path.join('/')}')`);
      }
      let keys = Object.keys(v).filter((k) => v[k] !== undefined);
      if (keys.length === 0) return '{}';
      if (sortKeys) keys = keys.sort(compareCodePoints);
      const items = keys.map((k) => `${pythonJsonString(k)}: ${walk(v[k], [...path, k], depth + 1)}`);
      return `{${open}${items.join(sep)}${close}}`;
    } finally {
      stack.delete(v);
    }
  };

  return walk(value, [], 0);
}

/**
 * AdapterHub's `ADAPTER_CONFIG_HASH_IGNORE_DEFAULT`: top-level keys dropped from the hash
 * input when they equal these values (keeps hashes stable across adapter-transformers v2/v3).
 */
export const ADAPTER_CONFIG_HASH_IGNORE_DEFAULT: Readonly<Record<string, string | number | boolean>> = Object.freeze({
  phm_layer: true,
  phm_dim: 4,
  factorized_phm_W: true,
  shared_W_phm: false,
  shared_phm_rule: true,
  factorized_phm_rule: false,
  phm_c_init: 'normal',
  phm_init_range: 0.0001,
  learn_phm: true,
  hypercomplex_nonlinearity: 'glorot-uniform',
  phm_rank: 1,
  phm_bias: true,
  init_weights: 'bert',
  scaling: 1.0,
});

/** Config fields that are Python floats in AdapterHub's config classes. */
export const ADAPTER_FLOAT_FIELDS: ReadonlySet<string> = new Set(['scaling', 'phm_init_range', 'dropout', 'vera_d', 'vera_b']);

/**
 * Default float predicate for adapter configs: a number is a float when its own key (the
 * last path segment, at any depth) is in {@link ADAPTER_FLOAT_FIELDS}.
 *
 * @param path - Key path of the number.
 */
export function isAdapterFloatKey(path: string[]): boolean {
  const last = path[path.length - 1];
  return last !== undefined && ADAPTER_FLOAT_FIELDS.has(last);
}

/** Python truthiness of a JSON-like value (`NaN` is truthy, as in Python). */
export function pyTruthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '') return false;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'bigint') return v !== 0n;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).some((k) => (v as Record<string, unknown>)[k] !== undefined);
  return true;
}

/** Python `==` between JSON-like scalars (booleans compare as 0/1 with numbers). */
function pyEquals(a: unknown, b: unknown): boolean {
  const na = typeof a === 'boolean' ? Number(a) : a;
  const nb = typeof b === 'boolean' ? Number(b) : b;
  if (typeof na === 'number' && typeof nb === 'number') return na === nb;
  return a === b;
}

/**
 * AdapterHub's `_minimize_dict`: recursively drops entries of plain objects whose value is
 * falsy in Python (`false`, `0`, `''`, `null`, `[]`, `{}`). Truthiness is tested before
 * recursing (so `{a: {b: 0}}` becomes `{a: {}}`), and arrays are left untouched, exactly as
 * in Python.
 *
 * @param d - Any JSON-like value.
 * @returns A minimized copy (non-objects are returned as they are).
 */
export function minimizeDict(d: unknown): unknown {
  if (d === null || typeof d !== 'object' || Array.isArray(d) || !isPlainObject(d)) return d;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(d)) {
    const v = d[k];
    if (pyTruthy(v)) Object.defineProperty(out, k, { value: minimizeDict(v), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Extra options for {@link configHash}. */
export interface ConfigHashOptions {
  /** Number of hex characters to keep. Default 16. */
  length?: number;
  /** Top-level keys to leave out of the hash (Python's `ignore_params`). */
  ignoreParams?: readonly string[];
}

/**
 * AdapterHub's `get_adapter_config_hash`: drops `ignoreParams`, minimizes the config
 * (`minimizeDict`), drops top-level keys equal (Python `==`) to
 * `ADAPTER_CONFIG_HASH_IGNORE_DEFAULT`, then takes the SHA-1 of
 * `json.dumps(d, sort_keys=True)` ({@link toPythonJson}) and keeps the first 16 hex chars.
 *
 * @example configHash(pfeifferConfig) === '9076f36a74755ac4'
 * @param config - The adapter config dict (e.g. the `config` entry of `adapter_config.json`).
 * @param floatKeys - Which numbers are Python floats; defaults to `isAdapterFloatKey`.
 * @param options - Hash length and ignored keys.
 * @returns The hex hash prefix.
 */
export function configHash(
  config: Record<string, unknown>,
  floatKeys: FloatKeyPredicate = isAdapterFloatKey,
  options: ConfigHashOptions = {},
): string {
  const ignore = new Set(options.ignoreParams ?? []);
  const filtered: Record<string, unknown> = {};
  for (const k of Object.keys(config)) {
    if (!ignore.has(k)) Object.defineProperty(filtered, k, { value: config[k], enumerable: true, writable: true, configurable: true });
  }
  const minimized = minimizeDict(filtered) as Record<string, unknown>;
  for (const [name, def] of Object.entries(ADAPTER_CONFIG_HASH_IGNORE_DEFAULT)) {
    if (Object.prototype.hasOwnProperty.call(minimized, name) && pyEquals(minimized[name], def)) delete minimized[name];
  }
  const text = toPythonJson(minimized, { sortKeys: true, floatKeys });
  return sha1Hex(text).slice(0, options.length ?? 16);
}
