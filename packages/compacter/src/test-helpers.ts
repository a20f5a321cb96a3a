/**
 * Helpers shared by this package's tests: golden fixture paths and a model over a golden base host with the
 * bottleneck method and this package's extension installed. Not exported from the index.
 * @internal
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AdapterModel } from '@adapterkit/core';
import { plugins as bottleneckPlugins } from '@adapterkit/bottleneck';
import { loadHost } from '@adapterkit/models';
import { plugins } from './index';

export const GOLDEN_DIR = fileURLToPath(new URL('../../../fixtures/golden/', import.meta.url));

/** Bottleneck + compacter, as users install them. */
export const ALL_PLUGINS = [...bottleneckPlugins, ...plugins] as const;

export function caseDir(model: string, name: string): string {
  return `${GOLDEN_DIR}cases/${model}/${name}`;
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** An AdapterModel over a golden base model with bottleneck + compacter; warnings go to `warn`. */
export async function goldenModel(model: 'bert' | 'gpt2', warn: (m: string) => void = () => undefined): Promise<AdapterModel> {
  const host = await loadHost(`${GOLDEN_DIR}models/${model}`);
  return new AdapterModel(host, { methods: ALL_PLUGINS, warn });
}
