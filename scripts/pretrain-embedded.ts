/**
 * Builds the embedded base model `packages/bert-mini/model` with `adapterkit pretrain` (the recipe lives in the CLI:
 * `apps/cli/src/commands/pretrain.ts` and `apps/cli/src/runtime/pretrain-*.ts`). This script only builds the CLI and
 * runs it on the embedded English corpus, so that the commands recorded in the model's `pretraining.json` and card
 * stay valid (`pnpm pretrain:embedded` builds the CLI first):
 *
 *   pnpm pretrain:embedded [--steps 500] [--batch-size 16] [--max-length 128] [--lr 5e-4] [--seed 42] [--out DIR]
 *     [--init DIR] [--checkpoint-dir DIR [--resume]]
 *
 * runs
 *
 *   node apps/cli/dist/cli.js pretrain --corpus embedded:english --out DIR [--init DIR] --steps … --batch-size …
 *     [--max-length …] --lr … --seed … [--checkpoint-dir DIR [--resume]] --backend wasm --embedded-model
 *     --record-command 'pnpm pretrain:embedded …'
 *
 * `--embedded-model` writes the embedded model's card and no AdapterHub head files; `--record-command` records this
 * script's command line (rather than the `adapterkit pretrain` one) as the phase's command. With `--init DIR` the run
 * is a further phase of a folder written before (its positions are the model's, so `--max-length` is not recorded).
 */
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { adapterkit, requireBuiltCli } from './lib/adapterkit-cli';

const ROOT = resolve(import.meta.dirname, '..');
const MODEL_DIR = 'packages/bert-mini/model';

const { values: argv } = parseArgs({
  options: {
    steps: { type: 'string', default: '500' },
    'batch-size': { type: 'string', default: '16' },
    'max-length': { type: 'string' },
    lr: { type: 'string', default: '5e-4' },
    seed: { type: 'string', default: '42' },
    out: { type: 'string', default: join(ROOT, MODEL_DIR) },
    init: { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'boolean', default: false },
  },
});
const out = resolve(argv.out);
const init = argv.init === undefined ? undefined : resolve(argv.init);
const maxLength = argv['max-length'] ?? (init ? undefined : '128');
/** A folder as the record shows it: relative to the repository root when inside it, else absolute. */
const rel = (dir: string): string => {
  const r = relative(ROOT, dir);
  return r === '' ? '.' : r.startsWith('..') || isAbsolute(r) ? dir : r.split(sep).join('/');
};

/** This script's command line as the phase record shows it (every value explicit, paths from the repository root). */
const command =
  `pnpm pretrain:embedded${rel(out) === MODEL_DIR ? '' : ` --out ${rel(out)}`}${init ? ` --init ${rel(init)}` : ''}` +
  ` --steps ${Number(argv.steps)} --batch-size ${Number(argv['batch-size'])}${init ? '' : ` --max-length ${Number(maxLength)}`}` +
  ` --lr ${Number(argv.lr)} --seed ${Number(argv.seed)}`;

const cliArgs = [
  'pretrain',
  ...['--corpus', 'embedded:english', '--out', out],
  ...(init ? ['--init', init] : []),
  ...['--steps', argv.steps, '--batch-size', argv['batch-size']],
  ...(maxLength !== undefined ? ['--max-length', maxLength] : []),
  ...['--lr', argv.lr, '--seed', argv.seed],
  ...(argv['checkpoint-dir'] ? ['--checkpoint-dir', resolve(argv['checkpoint-dir'])] : []),
  ...(argv.resume ? ['--resume'] : []),
  ...['--backend', 'wasm', '--embedded-model', '--record-command', command],
];

requireBuiltCli();
try {
  await adapterkit(cliArgs, { cwd: ROOT });
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
