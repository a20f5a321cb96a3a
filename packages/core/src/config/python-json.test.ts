import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ADAPTER_CONFIG_HASH_IGNORE_DEFAULT,
  compareCodePoints,
  configHash,
  minimizeDict,
  pythonJsonString,
  toPythonJson,
} from './python-json';

const CASES = fileURLToPath(new URL('../../../../fixtures/golden/cases/bert/', import.meta.url));
const readCase = (name: string): string => readFileSync(`${CASES}${name}/adapter_config.json`, 'utf8');
const configOf = (name: string): Record<string, unknown> =>
  (JSON.parse(readCase(name)) as { config: Record<string, unknown> }).config;

describe('toPythonJson', () => {
  // Expected strings produced by CPython's json.dumps.
  const sample = {
    b: [1, 2.5, { z: null, a: true }],
    a: 'h\u00e9llo \u{1F600} "q" \\ \n\t\u0001\u007f',
    c: {},
    d: [],
    e: -0,
    f: 1e-5,
    g: 1e20,
    h: 4,
    '\ue000': 1,
    '\u{1F600}': 2,
  };
  const floatKeys = (p: string[]): boolean => ['e', 'g', 'h'].includes(p[0] ?? '');

  it('matches json.dumps(obj) (insertion order, compact separators)', () => {
    expect(toPythonJson(sample, { floatKeys })).toBe(
      '{"b": [1, 2.5, {"z": null, "a": true}], "a": "h\\u00e9llo \\ud83d\\ude00 \\"q\\" \\\\ \\n\\t\\u0001\\u007f", "c": {}, "d": [], "e": -0.0, "f": 1e-05, "g": 1e+20, "h": 4.0, "\\ue000": 1, "\\ud83d\\ude00": 2}',
    );
  });

  it('matches json.dumps(obj, sort_keys=True) with code point key order', () => {
    expect(toPythonJson(sample, { floatKeys, sortKeys: true })).toBe(
      '{"a": "h\\u00e9llo \\ud83d\\ude00 \\"q\\" \\\\ \\n\\t\\u0001\\u007f", "b": [1, 2.5, {"a": true, "z": null}], "c": {}, "d": [], "e": -0.0, "f": 1e-05, "g": 1e+20, "h": 4.0, "\\ue000": 1, "\\ud83d\\ude00": 2}',
    );
  });

  it('matches json.dumps(obj, sort_keys=True, indent=2)', () => {
    expect(toPythonJson(sample, { floatKeys, sortKeys: true, indent: 2 })).toBe(
      '{\n  "a": "h\\u00e9llo \\ud83d\\ude00 \\"q\\" \\\\ \\n\\t\\u0001\\u007f",\n  "b": [\n    1,\n    2.5,\n    {\n      "a": true,\n      "z": null\n    }\n  ],\n  "c": {},\n  "d": [],\n  "e": -0.0,\n  "f": 1e-05,\n  "g": 1e+20,\n  "h": 4.0,\n  "\\ue000": 1,\n  "\\ud83d\\ude00": 2\n}',
    );
  });

  it('matches json.dumps(obj, indent=0)', () => {
    expect(toPythonJson({ a: [1, { b: [] }] }, { indent: 0 })).toBe('{\n"a": [\n1,\n{\n"b": []\n}\n]\n}');
  });

  it('writes numbers like Python', () => {
    expect(toPythonJson([NaN, Infinity, -Infinity])).toBe('[NaN, Infinity, -Infinity]');
    expect(toPythonJson([4, 4, 0.0001, -0, 2 ** 60, 10n], { floatKeys: (p) => p[0] === '1' })).toBe(
      '[4, 4.0, 0.0001, 0, 1152921504606846976, 10]',
    );
    expect(toPythonJson(3, { floatKeys: (p) => p.length === 0 })).toBe('3.0');
    expect(toPythonJson('x')).toBe('"x"');
    expect(toPythonJson(null)).toBe('null');
  });

  it('skips undefined properties and rejects unsupported values', () => {
    expect(toPythonJson({ a: undefined, b: 1 })).toBe('{"b": 1}');
    expect(() => toPythonJson({ f: () => 1 })).toThrow(TypeError);
    expect(() => toPythonJson(new Date(0))).toThrow(/Date is not JSON serializable/);
    const cyc: Record<string, unknown> = {};
    cyc['self'] = cyc;
    expect(() => toPythonJson(cyc)).toThrow(/Circular/);
    const shared = { x: 1 };
    expect(toPythonJson([shared, shared])).toBe('[{"x": 1}, {"x": 1}]');
  });

  it('reproduces bert/pfeiffer/adapter_config.json byte for byte', () => {
    const text = readCase('pfeiffer');
    expect(text.endsWith('\n')).toBe(false);
    const out = toPythonJson(JSON.parse(text), {
      indent: 2,
      sortKeys: true,
      floatKeys: (p) => p.at(-1) === 'scaling' || p.at(-1) === 'phm_init_range',
    });
    expect(out).toBe(text);
  });

  it('reproduces every golden adapter_config.json byte for byte', () => {
    const floatFields = new Set(['scaling', 'phm_init_range', 'dropout']);
    const names = readdirSync(CASES).filter((n) => existsSync(`${CASES}${n}/adapter_config.json`));
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) {
      const text = readCase(name);
      const out = toPythonJson(JSON.parse(text), { indent: 2, sortKeys: true, floatKeys: (p) => floatFields.has(p.at(-1) ?? '') });
      expect(out, name).toBe(text);
    }
  });
});

describe('pythonJsonString / compareCodePoints', () => {
  it('escapes like ensure_ascii', () => {
    expect(pythonJsonString('a"\\\b\f\n\r\t\u0000~\u007f\u00ff\u{10000}')).toBe(
      '"a\\"\\\\\\b\\f\\n\\r\\t\\u0000~\\u007f\\u00ff\\ud800\\udc00"',
    );
  });
  it('orders by code point', () => {
    expect(['\u{1F600}', '\ue000', 'b', 'a', 'ab'].sort(compareCodePoints)).toEqual(['a', 'ab', 'b', '\ue000', '\u{1F600}']);
  });
});

describe('configHash', () => {
  it('hashes the golden configs like adapters.utils.get_adapter_config_hash', () => {
    // Reference values computed with CPython from the same files.
    const expected: Record<string, string> = {
      pfeiffer: '9076f36a74755ac4',
      houlsby: 'b1017368d7a97b11',
      pfeiffer_inv: '9ed5b5a29de19b71',
      houlsby_inv: 'bcdbfdc759d7abf1',
      parallel: '211b85d66ae909db',
      scaled_parallel: '4197b24ec21c92f8',
      lora: '4fc6f5b8f89f31a7',
      ia3: '1ebb5af107e576c0',
      prefix_tuning: '14af16ff14c5d898',
      prefix_tuning_flat: 'a739482cf691dd8f',
      mam: '2632a00256f3f9b6',
      union: '2d8812861ebd8e6f',
      bottleneck_custom: 'afc5611fffdad1b6',
    };
    for (const [name, hash] of Object.entries(expected)) expect(configHash(configOf(name)), name).toBe(hash);
  });

  it('hashes the documented minimized string', () => {
    const minimized = minimizeDict(configOf('pfeiffer')) as Record<string, unknown>;
    for (const k of Object.keys(ADAPTER_CONFIG_HASH_IGNORE_DEFAULT)) {
      if (k in minimized && minimized[k] === ADAPTER_CONFIG_HASH_IGNORE_DEFAULT[k]) delete minimized[k];
    }
    expect(toPythonJson(minimized, { sortKeys: true })).toBe(
      '{"non_linearity": "relu", "original_ln_after": true, "original_ln_before": true, "output_adapter": true, "reduction_factor": 16, "residual_before_ln": true}',
    );
  });

  it('uses the float predicate (parallel has scaling 4.0)', () => {
    expect(configHash(configOf('parallel'), () => false)).not.toBe('211b85d66ae909db');
    expect(configHash(configOf('parallel'), (p) => p.at(-1) === 'scaling')).toBe('211b85d66ae909db');
  });

  it('supports length and ignoreParams', () => {
    const full = configHash(configOf('pfeiffer'), undefined, { length: 40 });
    expect(full).toHaveLength(40);
    expect(full.startsWith('9076f36a74755ac4')).toBe(true);
    expect(configHash({ ...configOf('pfeiffer'), extra: 'x' }, undefined, { ignoreParams: ['extra'] })).toBe('9076f36a74755ac4');
  });

  it('drops defaults with Python equality (True == 1, 1 == 1.0) and keeps non-defaults', () => {
    const base = configOf('pfeiffer');
    expect(configHash({ ...base, phm_rank: true, phm_dim: 4.0, scaling: 1 })).toBe('9076f36a74755ac4');
    expect(configHash({ ...base, phm_layer: true })).toBe('9076f36a74755ac4');
    expect(configHash({ ...base, scaling: 2 })).not.toBe('9076f36a74755ac4');
  });

  it('minimizes like _minimize_dict (truthiness before recursion, lists untouched)', () => {
    expect(minimizeDict({ a: 0, b: '', c: null, d: [], e: {}, f: false, g: { h: 0 }, i: [0, {}], j: NaN, k: 0.5 })).toEqual({
      g: {},
      i: [0, {}],
      j: NaN,
      k: 0.5,
    });
  });
});
