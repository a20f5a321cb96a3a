/**
 * The main job on the embedded defaults (`pnpm start`): the embedded base model `models/adapterkit-bert-mini` and
 * its tokenizer, the embedded SpamAssassin spam/ham dataset with its fixed seeded splits, a Pfeiffer adapter and a
 * classification head trained on the wasm backend (the base model frozen). Prints the test accuracy, the training
 * time, the trainable parameters, the adapter's file size against the model's, and predictions for a few e-mails.
 * Writes the adapter and its head to `out/spam-pfeiffer/` (AdapterHub layout). About 6 minutes on 2 CPU cores.
 *
 *   pnpm start [--steps 400] [--lr 3e-3] [--batch-size 16] [--max-length 64] [--config 'pfeiffer[reduction_factor=2]']
 *     [--model DIR] [--out DIR]
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@adapterkit/core';
import { loadTokenizer } from '@adapterkit/data';
import {
  accuracyOn,
  baseModelBytes,
  buildModel,
  EMBEDDED_MODEL_DIR,
  fmtBytes,
  fmtInt,
  loadTask,
  predictIds,
  saveRun,
  trainRun,
  type Method,
} from './lib/task-runs';

const t0 = performance.now();
const { values: argv } = parseArgs({
  options: {
    config: { type: 'string', default: 'pfeiffer[reduction_factor=2]' },
    steps: { type: 'string', default: '400' },
    lr: { type: 'string', default: '3e-3' },
    'batch-size': { type: 'string', default: '16' },
    'max-length': { type: 'string', default: '64' },
    seed: { type: 'string', default: '42' },
    model: { type: 'string', default: EMBEDDED_MODEL_DIR },
    out: { type: 'string', default: resolve(import.meta.dirname, '../out/spam-pfeiffer') },
  },
});
const settings = {
  steps: Number(argv.steps),
  lr: Number(argv.lr),
  batchSize: Number(argv['batch-size']),
  warmupRatio: 0.1,
  seed: Number(argv.seed),
};
const maxLength = Number(argv['max-length']);
const method: Method = { kind: 'adapter', config: argv.config };
const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** A few e-mails that are not in the dataset ("Subject\n\nbody", as the dataset's texts). */
const EXAMPLES = [
  'Congratulations, you have been selected!\n\nYou are the lucky winner of a FREE $1,000 gift card. Click here now to claim your prize before it expires. No purchase necessary!!!',
  'Re: patch for the config parser\n\nThanks for the patch. I applied it to the 2.4 branch, but the unit tests fail on my machine because the locale is not set. Could you have a look before Friday?',
  'Lowest mortgage rates in 10 years\n\nRefinance today and save hundreds every month. Our experts are waiting for your call. To be removed from our mailing list reply with REMOVE in the subject.',
  'Re: [ILUG] kernel 2.4.18 and the new scanner driver\n\nOn Tue, Dave wrote: > does anyone have the USB scanner working? I built the module from the 2.4.18 tree and it loads, but xsane does not see the device. Any ideas? Thanks, Niall',
  'Your account will be suspended\n\nDear customer, we detected unusual activity. Verify your password and credit card details within 24 hours at the secure link below or your account will be closed.',
];

const backend = await initBackend();
console.log(`AdapterKit main job — backend ${backend.name} (${backend.package}${backend.threads ? `, ${backend.threads} thread` : ''})`);
const modelDir = resolve(argv.model);
const tokenizer = await loadTokenizer(modelDir);
const task = await loadTask('spam', tokenizer, maxLength);
const modelBytes = baseModelBytes(modelDir);
console.log(`model: ${relative(process.cwd(), modelDir) || modelDir} (model.safetensors ${fmtBytes(modelBytes)}), tokenizer ${tokenizer.vocabSize} tokens`);
console.log(
  `data: embedded SpamAssassin spam/ham, seeded splits: train ${task.train.length}, test ${task.test.length} (labels ${task.labels.names.join('/')}); ` +
    `inputs truncated to ${maxLength} tokens [${elapsed()}]`,
);

const model = await buildModel(modelDir, task, method, settings.seed);
console.log(`adapter: '${task.name}' = ${method.config} + a 2-layer classification head; base model frozen`);
console.log(
  `training: ${settings.steps} steps × batch ${settings.batchSize} (${((settings.steps * settings.batchSize) / task.train.length).toFixed(2)} epochs), ` +
    `AdamW lr ${settings.lr} (linear decay, ${Math.round(settings.warmupRatio * settings.steps)} warm-up steps), seed ${settings.seed}`,
);
const trained = await trainRun(model, task, method, {
  ...settings,
  onStep: (step, total, loss) => {
    if (step % 25 === 0 || step === total) console.log(`  step ${step}/${total}  loss ${loss.toFixed(4)}  [${elapsed()}]`);
  },
});
const accuracy = accuracyOn(model, task.name, task.test);
const files = await saveRun(model, task, method, argv.out);
const baseParams = [...model.host.parameters.values()].reduce((n, v) => n + v.size, 0);

console.log('');
console.log(`test accuracy:        ${(100 * accuracy).toFixed(2)} % (${task.test.length} e-mails)`);
console.log(`training time:        ${trained.seconds.toFixed(1)} s (${trained.steps} steps)`);
console.log(
  `trainable parameters: ${fmtInt(trained.params + trained.headParams)} = adapter ${fmtInt(trained.params)} + head ${fmtInt(trained.headParams)} ` +
    `(${((100 * (trained.params + trained.headParams)) / baseParams).toFixed(2)} % of the model's ${fmtInt(baseParams)})`,
);
console.log(
  `files:                adapter.safetensors ${fmtBytes(files.methodFileBytes)} + head ${fmtBytes(files.headFileBytes)} vs model.safetensors ${fmtBytes(modelBytes)} ` +
    `(adapter = ${((100 * files.methodFileBytes) / modelBytes).toFixed(2)} % of the model), saved in ${argv.out}`,
);

console.log('\npredictions:');
const encoded = EXAMPLES.map((text) => ({ inputIds: tokenizer.encode(text, null, { maxLength }).ids }));
const { ids, probs } = predictIds(model, task.name, encoded);
EXAMPLES.forEach((text, i) => {
  const label = task.labels.names[ids[i]!]!;
  const subject = text.split('\n')[0]!;
  console.log(`  ${label.padEnd(4)} ${probs[i]![ids[i]!]!.toFixed(3)}  "${subject}"`);
});
model.dispose();
console.log(`\ndone in ${elapsed()} (tensors left: ${tf.memory().numTensors})`);
