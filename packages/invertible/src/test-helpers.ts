/**
 * Helpers shared by this package's tests: golden fixture paths, models with the bottleneck + invertible plugins,
 * and stand-alone coupling blocks. Not exported from the index.
 * @internal
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel, init, ParamCollector, Rng, type HostInfo } from '@adapterkit/core';
import { plugins as bottleneckPlugins, type BottleneckConfig, type InvertibleAdapter } from '@adapterkit/bottleneck';
import { loadHost } from '@adapterkit/models';
import { PfeifferInvConfig } from './config';
import { plugins } from './index';
import { invertibleProvider } from './provider';

export const GOLDEN_DIR = fileURLToPath(new URL('../../../fixtures/golden/', import.meta.url));

export function caseDir(model: string, name: string): string {
  return `${GOLDEN_DIR}cases/${model}/${name}`;
}

export function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/** Every plugin a model with invertible adapters needs: the bottleneck method, then this package's extension. */
export const ALL_PLUGINS = [...bottleneckPlugins, ...plugins] as const;

/** An AdapterModel over a golden base model with the bottleneck and invertible plugins. */
export async function goldenModel(model: 'bert' | 'gpt2'): Promise<AdapterModel> {
  return new AdapterModel(await loadHost(`${GOLDEN_DIR}models/${model}`), { methods: ALL_PLUGINS, warn: () => undefined });
}

/** A HostInfo with only what the invertible provider reads (hidden size, model type). */
export function hostInfo(hiddenSize: number): HostInfo {
  return {
    modelType: 'test',
    modelClass: 'TestModel',
    hiddenSize,
    numLayers: 1,
    numHeads: 1,
    headDim: hiddenSize,
    intermediateSize: hiddenSize,
    vocabSize: 8,
    baseModelPrefix: 'test',
    hookPoints: new Set(['embeddings.output']),
    numParameters: 0,
    modulePath: () => undefined,
  };
}

/** A stand-alone coupling block from the provider, with its parameters. */
export interface Standalone {
  readonly inv: InvertibleAdapter;
  readonly params: ParamCollector;
}

/** Build a coupling block of `config` (default: `pfeiffer+inv`) on hidden size `hidden`, keys under `invertible_adapters.t`. */
export function standalone(hidden: number, config: BottleneckConfig = PfeifferInvConfig(), seed = 1): Standalone {
  const params = new ParamCollector('t');
  const inv = invertibleProvider.create({ name: 't', config, host: hostInfo(hidden), params, rng: new Rng(seed), keyPrefix: 'invertible_adapters.t' });
  return { inv, params };
}

/** Overwrite every parameter with N(0, std²), so a block is far from the identity it starts near. */
export function randomise(params: readonly { variable: tf.Variable }[], seed: number, std = 0.3): void {
  const rng = new Rng(seed);
  for (const p of params) {
    const value = init.normal(rng, [...p.variable.shape], std);
    p.variable.assign(value);
    value.dispose();
  }
}

/** Random `[batch, seq, hidden]` input. */
export function randomInput(batch: number, seq: number, hidden: number, seed = 5): tf.Tensor3D {
  return init.normal(new Rng(seed), [batch, seq, hidden], 1) as tf.Tensor3D;
}
