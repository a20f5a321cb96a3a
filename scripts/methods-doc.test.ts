import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KNOWN_CONFIG_PACKAGES } from '@adapterkit/core';
import { describe, expect, it } from 'vitest';
import { configNames, methodsPage } from './lib/methods-doc';

describe('docs/methods.md', () => {
  it('is what the method packages register (run pnpm docs:methods after adding a config name)', () => {
    const page = readFileSync(fileURLToPath(new URL('../docs/methods.md', import.meta.url)), 'utf8');
    expect(page).toBe(methodsPage());
  });

  it('lists every config name core points users to, with the same package, and no name twice', () => {
    const rows = configNames();
    const byName = new Map(rows.map((r) => [r.name, r.package]));
    expect(byName.size).toBe(rows.length);
    for (const [name, pkg] of Object.entries(KNOWN_CONFIG_PACKAGES)) expect(byName.get(name), name).toBe(pkg);
    for (const name of ['pfeiffer', 'lora', 'loreft', 'prompt_tuning', 'mam', 'unipelt', 'compacter++', 'pfeiffer+inv']) expect(byName.has(name), name).toBe(true);
  });
});
