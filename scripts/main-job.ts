/**
 * The main job on the embedded defaults (`pnpm start`), run with the `adapterkit` command-line tool: it trains a
 * Pfeiffer adapter and a classification head on the embedded SpamAssassin spam/ham task over the embedded base model
 * `packages/bert-mini/model` (frozen), on the best backend `initBackend` finds (native where `@adapterkit/native` is
 * installed, else wasm), prints the test accuracy, the training time, the trainable parameters and the adapter's file
 * size against the model's, then predicts a few e-mails with the saved adapter. About 3–5 minutes on 2 CPU cores.
 *
 * Training runs with the CLI's default `--workers auto`: 2 data-parallel workers × 1 thread on native and on plain
 * wasm with 2 cores (measured faster than one process × 2 threads: README, "Backends"); the note at the start says so.
 *
 * `pnpm start` builds the CLI first (`turbo run build --filter=adapterkit...`); this script runs
 *
 *   adapterkit train --model embedded --dataset spam --config 'pfeiffer[reduction_factor=2]' --max-steps 400 \
 *     --lr 3e-3 --warmup-ratio 0.1 --max-length 64 --out out/spam-pfeiffer
 *   adapterkit predict --model embedded --adapter out/spam-pfeiffer --max-length 64 'E-MAIL' ...
 *
 * Options: `--out DIR` (default `out/spam-pfeiffer`); anything after `--` goes to `adapterkit train` (for example
 * `-- --max-steps 100`).
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { adapterkit, requireBuiltCli } from './lib/adapterkit-cli';

const ROOT = resolve(import.meta.dirname, '..');

const { values: argv, positionals } = parseArgs({
  options: { out: { type: 'string', default: resolve(ROOT, 'out/spam-pfeiffer') } },
  allowPositionals: true,
});
/** The value of `flag` among the options after `--` (`--flag V` or `--flag=V`), if given there. */
function passed(flag: string): string | undefined {
  const i = positionals.indexOf(flag);
  return i >= 0 ? positionals[i + 1] : positionals.find((a) => a.startsWith(`${flag}=`))?.slice(flag.length + 1);
}
/** The output folder: `--out DIR`, or `-- --out DIR` given to `adapterkit train`. */
const out = relative(process.cwd(), resolve(passed('--out') ?? argv.out)) || '.';
/** Prediction truncates as training did. */
const maxLength = passed('--max-length') ?? '64';

/** A few e-mails that are not in the dataset ("Subject\n\nbody", as the dataset's texts). */
const EMAILS = [
  'Congratulations, you have been selected!\n\nYou are the lucky winner of a FREE $1,000 gift card. Click here now to claim your prize before it expires. No purchase necessary!!!',
  'Re: patch for the config parser\n\nThanks for the patch. I applied it to the 2.4 branch, but the unit tests fail on my machine because the locale is not set. Could you have a look before Friday?',
  'Lowest mortgage rates in 10 years\n\nRefinance today and save hundreds every month. Our experts are waiting for your call. To be removed from our mailing list reply with REMOVE in the subject.',
  'Re: [ILUG] kernel 2.4.18 and the new scanner driver\n\nOn Tue, Dave wrote: > does anyone have the USB scanner working? I built the module from the 2.4.18 tree and it loads, but xsane does not see the device. Any ideas? Thanks, Niall',
  'Your account will be suspended\n\nDear customer, we detected unusual activity. Verify your password and credit card details within 24 hours at the secure link below or your account will be closed.',
];

/** The main job's training options; options after `--` replace these (or add to them). */
const DEFAULTS: ReadonlyArray<readonly [string, string]> = [
  ['--model', 'embedded'],
  ['--dataset', 'spam'],
  ['--config', 'pfeiffer[reduction_factor=2]'],
  ['--max-steps', '400'],
  ['--lr', '3e-3'],
  ['--warmup-ratio', '0.1'],
  ['--max-length', maxLength],
  ['--out', out],
];
const overridden = new Set(positionals.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
const TRAIN = ['train', ...DEFAULTS.filter(([flag]) => !overridden.has(flag)).flat(), ...positionals];
const PREDICT = ['predict', '--model', passed('--model') ?? 'embedded', '--adapter', out, '--max-length', maxLength, ...EMAILS];

requireBuiltCli();
const t0 = performance.now();
try {
  await adapterkit(TRAIN);
  const predictions = (await adapterkit(PREDICT, { capture: true })).trim().split('\n');
  console.log('predictions for e-mails that are not in the dataset (label, probability, subject):');
  predictions.forEach((line, i) => {
    const [label = '', probability = ''] = line.split('\t');
    console.log(`  ${label.padEnd(5)} ${probability}  "${EMAILS[i]!.split('\n')[0]}"`);
  });
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
console.log(`\nmain job done in ${((performance.now() - t0) / 1000).toFixed(0)} s; the adapter and its head are in ${out}/`);
