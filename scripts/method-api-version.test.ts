/**
 * Every method package declares the plugin-contract version it was written for in its own package.json
 * (`"adapterkit": { "methodApiVersion": n }`) and its methods and extensions carry that value, its name and its
 * version as `meta`; this repository's packages target the current core's `METHOD_API_VERSION`. A method that
 * passed core's constant instead would make core's `API_VERSION` check unable to fail.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { METHOD_API_VERSION, defineAdapterMethod, type AdapterConfigBase } from '@adapterkit/core';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

interface MethodPackage {
  readonly name: string;
  readonly version: string;
  readonly api: number;
}

function methodPackages(): MethodPackage[] {
  const out: MethodPackage[] = [];
  for (const parent of ['packages', 'examples']) {
    for (const e of readdirSync(join(ROOT, parent), { withFileTypes: true })) {
      const file = join(ROOT, parent, e.name, 'package.json');
      if (!e.isDirectory() || !existsSync(file)) continue;
      const m = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string; adapterkit?: { methodApiVersion?: unknown } };
      if (m.adapterkit !== undefined) out.push({ name: m.name, version: m.version, api: m.adapterkit.methodApiVersion as number });
    }
  }
  return out;
}

const PACKAGES = methodPackages();

describe('method packages declare the plugin API they target', () => {
  it('finds the method and extension packages', () => {
    expect(PACKAGES.map((p) => p.name).sort()).toEqual(
      expect.arrayContaining(['@acme/adapterkit-bitfit', '@adapterkit/bottleneck', '@adapterkit/compacter', '@adapterkit/invertible', '@adapterkit/lora', '@adapterkit/prefix-tuning', '@adapterkit/prompt-tuning', '@adapterkit/reft', '@adapterkit/union']),
    );
  });

  it.each(PACKAGES.map((p) => [p.name, p] as const))('%s: its plugins carry its package.json name, version and methodApiVersion', async (name, p) => {
    expect(p.api).toBe(METHOD_API_VERSION);
    const mod = (await import(/* @vite-ignore */ name)) as { plugins?: ReadonlyArray<{ meta: { package: string; version: string; apiVersion: number } }> };
    expect(mod.plugins?.length, `${name} exports plugins`).toBeGreaterThan(0);
    for (const plugin of mod.plugins!) expect(plugin.meta).toEqual({ package: name, version: p.version, apiVersion: p.api });
  });

  it('core refuses a method written for another plugin API version', () => {
    expect(() =>
      defineAdapterMethod<AdapterConfigBase & { method: 'x' }>({
        name: 'x',
        architecture: 'x',
        fields: {},
        defaults: {},
        hooks: [],
        meta: { package: '@acme/x', version: '1.0.0', apiVersion: METHOD_API_VERSION + 1 },
        create: () => ({ handlers: {} }),
      }),
    ).toThrow(expect.objectContaining({ code: 'API_VERSION' }));
  });
});
