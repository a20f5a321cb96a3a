/**
 * Test helper process for the kill test of `saveAdapter` (`model/save-kill.test.ts`): saves two different adapters
 * (`toy`: init 1, and `toy_big[tag="q"]`: init 2, whose weights equal their `init`) under the same name into the
 * folder given as the first argument, alternately and forever, printing `ready` once the first save completed. The
 * test SIGKILLs it at random points. Not part of the package's exports.
 *
 * @packageDocumentation
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { AdapterModel } from '../model/adapter-model';
import { createToyHost, createToyScaleMethod } from './toy';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: save-loop DIR');
  await tf.setBackend('cpu');
  const models = ['toy', 'toy_big[tag="q"]'].map((config) => {
    const m = new AdapterModel(createToyHost(), { methods: [createToyScaleMethod()] });
    m.addAdapter('a', config);
    return m;
  });
  for (let i = 0; ; i++) {
    await models[i % 2]!.saveAdapter(dir, 'a');
    if (i === 0) process.stdout.write('ready\n');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
