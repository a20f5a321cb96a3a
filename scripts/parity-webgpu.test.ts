/**
 * The WebGPU backend in Node (the `webgpu` package, Dawn) on SwiftShader, Debian chromium's CPU Vulkan driver:
 * a subset of the golden parity cases, including a training step. Runs when the driver, the Vulkan loader and the
 * `webgpu` package are present (`.ci/run` installs them), and says why it skipped otherwise.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@adapterkit/backends';
import { AdapterModel } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { addClassificationHead, disposeHeads, evaluate, train } from '@adapterkit/training';
import { discoverPlugins, runParity } from '@adapterkit/testkit';
import { describe, expect, it } from 'vitest';

const goldenDir = fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LOADERS = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib/aarch64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'];

function missing(): string | undefined {
  if (process.platform !== 'linux') return 'the SwiftShader set-up is Linux-only';
  if (!existsSync(ICD)) return `no SwiftShader Vulkan driver at ${ICD} (apt-get install chromium)`;
  if (!LOADERS.some(existsSync)) return 'no Vulkan loader libvulkan.so.1 (apt-get install libvulkan1)';
  try {
    createRequire(fileURLToPath(new URL('../packages/backends/package.json', import.meta.url))).resolve('webgpu');
  } catch {
    return 'the webgpu package is not installed (pnpm install)';
  }
  return undefined;
}

const reason = missing();
if (reason) console.warn(`webgpu parity: SKIPPED: ${reason}`);

describe('parity on webgpu (Node, SwiftShader)', () => {
  it.skipIf(reason !== undefined)(`passes bert base, adapters and the Pfeiffer training step${reason ? ` (SKIPPED: ${reason})` : ''}`, async () => {
    const info = await initBackend('webgpu', { cpuForward: false });
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.device).toMatch(/swiftshader/i);
    expect(tf.env().getBool('WEBGPU_CPU_FORWARD')).toBe(false);
    const { plugins, extras } = await discoverPlugins((p) => import(p));
    const lines: string[] = [];
    const r = await runParity({ goldenDir, cases: 'bert/base,bert/pfeiffer,bert/lora,bert/train_pfeiffer', plugins, extras, log: (l) => lines.push(l) });
    expect(lines.at(-1), lines.join('\n')).toBe('4 passed, 0 failed, 0 skipped');
    expect(r.results.map((x) => x.id)).toEqual(['bert/base', 'bert/pfeiffer', 'bert/lora', 'bert/train_pfeiffer']);
  });

  it.skipIf(reason !== undefined)(`trains on webgpu: full fine-tuning with dropout (gather gradient), async loss and metrics reads${reason ? ` (SKIPPED: ${reason})` : ''}`, async () => {
    await initBackend('webgpu', { cpuForward: false });
    const before = tf.memory().numTensors;
    const host = await loadHost(fileURLToPath(new URL('../fixtures/golden/models/bert', import.meta.url)));
    const model = new AdapterModel(host, { methods: [...bottleneck], warn: () => undefined });
    addClassificationHead(model, 'cls', { numLabels: 2, seed: 2 });
    const data = Array.from({ length: 8 }, (_, i) => ({ inputIds: [2, 5 + i, 9 + 2 * i, 40 + i, 3], labels: i % 2 }));
    const losses: number[] = [];
    const result = await train(model, { mode: 'full', head: 'cls', trainData: data, evalData: data, batchSize: 4, maxSteps: 4, lr: 1e-2, seed: 1, onProgress: (e) => (e.type === 'step' ? losses.push(e.loss) : undefined) });
    expect(tf.getBackend()).toBe('webgpu');
    expect(losses).toHaveLength(4);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(result).toBeDefined();
    const m = await evaluate(model, data, { head: 'cls', metrics: ['loss', 'accuracy'] });
    expect(m['loss']).toBeGreaterThan(0);
    expect(m['accuracy']).toBeGreaterThanOrEqual(0);
    disposeHeads(model);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
