/**
 * Vitest setup (every test file): tfjs's `PROD` flag, the supported switch that silences its console warnings —
 * among them the "looks like you are running TensorFlow.js in Node.js" banner the cpu backend prints on first use
 * (51 times in one `pnpm test`). `initBackend` sets it too; most tests pick the cpu backend directly.
 */
import * as tf from '@tensorflow/tfjs-core';

tf.env().set('PROD', true);
