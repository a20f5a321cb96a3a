/**
 * The main job on embedded defaults (until the CLI lands): load the tiny BERT shipped in fixtures/, add a
 * Pfeiffer adapter, print the adapter summary and one forward pass, save the adapter and load it back.
 */
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@adapterkit/backends';
import { AdapterModel } from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { plugins as bottleneck } from '@adapterkit/bottleneck';

const modelDir = fileURLToPath(new URL('../fixtures/golden/models/bert', import.meta.url));
const backend = await initBackend();
console.log(`backend: ${backend.name} (${backend.package})`);

const model = new AdapterModel(await loadHost(modelDir), { methods: [...bottleneck] });
model.addAdapter('demo', 'pfeiffer[reduction_factor=8]', { setActive: true });
model.trainAdapter('demo');
console.log(model.formatAdapterSummary());

const inputIds = tf.tensor2d([[101, 7, 42, 99, 3, 102]], [1, 6], 'int32');
const base = tf.tidy(() => {
  model.setActiveAdapters(null);
  return model.forward({ inputIds }).lastHiddenState;
});
model.setActiveAdapters('demo');
const out = model.forward({ inputIds });
console.log(`forward: last_hidden_state [${out.lastHiddenState.shape.join(', ')}], pooler_output [${out.poolerOutput?.shape.join(', ')}]`);
console.log(`first token, first 6 features: ${Array.from(out.lastHiddenState.dataSync().slice(0, 6), (v) => v.toFixed(4)).join(' ')}`);
console.log(`max |adapter - base| = ${tf.tidy(() => tf.max(tf.abs(tf.sub(out.lastHiddenState, base))).dataSync()[0]!.toFixed(4))}`);

const dir = mkdtempSync(join(tmpdir(), 'adapterkit-demo-'));
await model.saveAdapter(dir, 'demo');
const size = statSync(join(dir, 'adapter.safetensors')).size;
const modelSize = statSync(join(modelDir, 'model.safetensors')).size;
console.log(`saved ${dir}: adapter.safetensors ${size} bytes vs model.safetensors ${modelSize} bytes (${((100 * size) / modelSize).toFixed(1)}%)`);
const again = new AdapterModel(await loadHost(modelDir), { methods: [...bottleneck] });
await again.loadAdapter(dir, { setActive: true });
const reloaded = again.forward({ inputIds });
console.log(`reloaded adapter reproduces the output: max diff ${tf.tidy(() => tf.max(tf.abs(tf.sub(reloaded.lastHiddenState, out.lastHiddenState))).dataSync()[0])}`);
