/**
 * No package entry has import-time side effects, so `"sideEffects": false` in every package.json is honest:
 *
 * - every public package declares `"sideEffects": false`;
 * - no library source file runs a statement at module top level other than imports, exports and declarations
 *   (a top-level call or assignment runs on import);
 * - importing each package entry (after tfjs-core) changes no process-wide state this test can observe: global
 *   properties, tfjs's kernel/gradient/backend/flag registries, process event listeners, and well-known built-ins
 *   (`Math.random`, `Date.now`, `console.*`, `fetch`, timers, built-in prototypes). A package that registers
 *   something when imported fails here, named.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface Pkg {
  readonly name: string;
  readonly dir: string;
  readonly manifest: Record<string, unknown>;
}

/** Public library packages (packages/*, examples/*): the ones an application imports. */
function libraryPackages(): Pkg[] {
  const out: Pkg[] = [];
  for (const parent of ['packages', 'examples']) {
    const base = join(ROOT, parent);
    if (!existsSync(base)) continue;
    for (const e of readdirSync(base, { withFileTypes: true })) {
      const file = join(base, e.name, 'package.json');
      if (!e.isDirectory() || !existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      if (manifest['private'] === true) continue;
      out.push({ name: String(manifest['name']), dir: join(base, e.name), manifest });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Library source files of a package (no tests, test helpers or type tests). */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'testing' && e.name !== '__fixtures__') walk(p);
      } else if (/\.tsx?$/.test(e.name) && !/\.d\.ts$|\.test(-d)?\.tsx?$|test-helpers?\.ts$|test-support\.ts$/.test(e.name)) {
        out.push(p);
      }
    }
  };
  if (existsSync(join(dir, 'src'))) walk(join(dir, 'src'));
  return out;
}

/** Top-level statements of a module that run code on import (calls, assignments, blocks, loops, ...). */
export function topLevelEffects(fileName: string, text: string): string[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  for (const st of sf.statements) {
    const inert =
      ts.isImportDeclaration(st) ||
      ts.isImportEqualsDeclaration(st) ||
      ts.isExportDeclaration(st) ||
      ts.isExportAssignment(st) ||
      ts.isFunctionDeclaration(st) ||
      ts.isClassDeclaration(st) ||
      ts.isInterfaceDeclaration(st) ||
      ts.isTypeAliasDeclaration(st) ||
      ts.isEnumDeclaration(st) ||
      ts.isModuleDeclaration(st) ||
      ts.isVariableStatement(st) ||
      ts.isEmptyStatement(st);
    if (!inert) {
      const line = sf.getLineAndCharacterOfPosition(st.getStart(sf)).line + 1;
      out.push(`${fileName}:${line}: ${st.getText(sf).split('\n')[0]!.slice(0, 100)}`);
    }
  }
  return out;
}

/** What this test can see of process-wide state, as comparable strings. */
function snapshot(): Map<string, string> {
  const s = new Map<string, string>();
  for (const k of Reflect.ownKeys(globalThis)) {
    const v = (globalThis as Record<PropertyKey, unknown>)[k];
    s.set(`globalThis.${String(k)}`, typeof v);
  }
  const tfGlobals = (globalThis as { _tfGlobals?: Map<string, unknown> })._tfGlobals ?? new Map<string, unknown>();
  for (const [k, v] of tfGlobals) {
    if (v instanceof Map) for (const key of v.keys()) s.set(`tf ${k}: ${String(key)}`, 'registered');
    else s.set(`tf global ${k}`, typeof v);
  }
  for (const b of Object.keys((tf.engine() as unknown as { registryFactory: object }).registryFactory)) s.set(`tf backend ${b}`, 'registered');
  for (const f of Object.keys((tf.env() as unknown as { flagRegistry: object }).flagRegistry)) s.set(`tf flag ${f}`, 'registered');
  for (const [f, v] of Object.entries((tf.env() as unknown as { flags: Record<string, unknown> }).flags)) s.set(`tf flag value ${f}`, String(v));
  for (const e of ['exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'warning', 'SIGINT', 'SIGTERM', 'message']) {
    s.set(`process listeners ${e}`, String(process.listenerCount(e)));
  }
  const builtins: Record<string, unknown> = {
    'Math.random': Math.random,
    'Date.now': Date.now,
    'JSON.parse': JSON.parse,
    'JSON.stringify': JSON.stringify,
    'console.log': console.log,
    'console.warn': console.warn,
    'console.error': console.error,
    'console.info': console.info,
    fetch: globalThis.fetch,
    setTimeout: globalThis.setTimeout,
    setInterval: globalThis.setInterval,
    queueMicrotask: globalThis.queueMicrotask,
    'process.emitWarning': process.emitWarning,
    'process.exit': process.exit,
  };
  for (const [k, v] of Object.entries(builtins)) s.set(`builtin ${k}`, identity(v));
  const protos: Record<string, object> = {
    Object: Object.prototype,
    Array: Array.prototype,
    String: String.prototype,
    Number: Number.prototype,
    Function: Function.prototype,
    Promise: Promise.prototype,
    Map: Map.prototype,
    Uint8Array: Uint8Array.prototype,
    Float32Array: Float32Array.prototype,
    Error: Error.prototype,
  };
  for (const [k, p] of Object.entries(protos)) {
    for (const key of Reflect.ownKeys(p)) {
      const d = Object.getOwnPropertyDescriptor(p, key)!;
      s.set(`${k}.prototype.${String(key)}`, identity(d.value ?? d.get));
    }
  }
  return s;
}

const ids = new WeakMap<object, number>();
let nextId = 0;
/** A stable id per object identity (to see a replaced function), or the primitive's value. */
function identity(v: unknown): string {
  if ((typeof v === 'object' && v !== null) || typeof v === 'function') {
    if (!ids.has(v as object)) ids.set(v as object, ++nextId);
    return `#${ids.get(v as object)}`;
  }
  return String(v);
}

/** Entries added, removed or changed between two snapshots. */
function diff(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of after) {
    if (!before.has(k)) out.push(`added ${k}`);
    else if (before.get(k) !== v) out.push(`changed ${k}`);
  }
  for (const k of before.keys()) if (!after.has(k)) out.push(`removed ${k}`);
  return out;
}

const PACKAGES = libraryPackages();

/**
 * Files that are programs of their own, never reached by importing a package entry, so their top-level code runs
 * only when started as such (each with why).
 */
const ENTRY_SCRIPTS = new Map<string, string>([
  ['packages/testkit/src/esm-only.ts', "the `require` export condition's target: throws ESM_ONLY by design"],
  ['packages/data-parallel/src/worker.ts', 'the worker_threads entry the pool starts in each worker'],
]);

describe('no package entry has import-time side effects', () => {
  // The first read of some globals initialises Node's own lazy state (reading `fetch` adds undici's dispatcher symbol).
  beforeAll(() => void snapshot());

  it('finds the packages', () => {
    expect(PACKAGES.map((p) => p.name)).toEqual(expect.arrayContaining(['@adapterkit/core', '@adapterkit/training', '@adapterkit/lora']));
  });

  it.each(PACKAGES.map((p) => [p.name, p] as const))('%s declares "sideEffects": false', (_name, p) => {
    expect(p.manifest['sideEffects']).toBe(false);
  });

  it.each(PACKAGES.map((p) => [p.name, p] as const))('%s runs no top-level statement on import', (_name, p) => {
    const effects = sourceFiles(p.dir)
      .filter((f) => !ENTRY_SCRIPTS.has(f.slice(ROOT.length)))
      .flatMap((f) => topLevelEffects(f.slice(ROOT.length), readFileSync(f, 'utf8')));
    expect(effects).toEqual([]);
  });

  it('the static check sees top-level calls and assignments, and lets declarations pass', () => {
    const text = [
      "import { x } from './x';",
      'export const a = 1;',
      'let cache: number | undefined;',
      'export function f(): void {}',
      'registerThing(a);',
      'TABLE[1] = 2;',
      'if (a) cache = 3;',
      "export * from './y';",
    ].join('\n');
    expect(topLevelEffects('m.ts', text)).toEqual(['m.ts:5: registerThing(a);', 'm.ts:6: TABLE[1] = 2;', 'm.ts:7: if (a) cache = 3;']);
  });

  it('the runtime check sees a global, a tfjs registration, a listener and a patched built-in', () => {
    const before = snapshot();
    const random = Math.random;
    const listener = (): void => {};
    (globalThis as Record<string, unknown>)['__adapterkitProbe'] = 1;
    tf.registerGradient({ kernelName: '__AdapterkitProbe', gradFunc: () => ({}) });
    process.on('exit', listener);
    Math.random = () => 0.5;
    try {
      expect(diff(before, snapshot())).toEqual(
        expect.arrayContaining([
          'added globalThis.__adapterkitProbe',
          'added tf gradRegistry: __AdapterkitProbe',
          'changed process listeners exit',
          'changed builtin Math.random',
        ]),
      );
    } finally {
      Math.random = random;
      process.off('exit', listener);
      delete (globalThis as Record<string, unknown>)['__adapterkitProbe'];
      tf.unregisterGradient('__AdapterkitProbe');
    }
    expect(diff(before, snapshot())).toEqual([]);
  });

  it('importing each package entry changes no process-wide state', async () => {
    const changes: string[] = [];
    for (const p of PACKAGES) {
      const before = snapshot();
      await import(/* @vite-ignore */ p.name);
      changes.push(...diff(before, snapshot()).map((d) => `${p.name}: ${d}`));
    }
    expect(changes).toEqual([]);
  });
});
