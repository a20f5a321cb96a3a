import { resolve } from 'node:path';
import type { OptionSpec } from '../cli/args';
import type { CommandSpec, Context } from '../cli/command';
import { CliError } from '../cli/errors';
import { loadForPrediction } from '../runtime/head-setup';
import { hostOf, maxLengthFor } from '../runtime/limits';
import { loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';
import { predictLines } from '../runtime/predict';
import { resolveTokenizer } from '../runtime/tokenizer';

/** Options of the commands that run a trained adapter + head (`predict`, `eval`). */
export const TRAINED_OPTIONS = {
  ...MODEL_OPTIONS,
  adapter: { type: 'string', multiple: true, value: 'DIR', description: "a trained adapter folder (with its head), as 'adapterkit train' writes it" },
  setup: { type: 'string', value: 'SETUP', description: "composition of several adapters, e.g. 'Stack[lang, task]'" },
  tokenizer: { type: 'string', value: 'PATH', description: "tokenizer (default: the adapter folder's, else the model folder's)" },
  'max-length': { type: 'string', value: 'N', description: 'truncate inputs to N tokens', default: "128 or the model's limit" },
  'batch-size': { type: 'string', value: 'N', description: 'examples per forward pass', default: '32' },
} as const satisfies Record<string, OptionSpec>;

async function readStdinLines(ctx: Context): Promise<string[]> {
  if (ctx.io.stdin.isTTY) throw new CliError("no input: pass texts as arguments or pipe lines on stdin (see 'adapterkit predict --help')");
  let text = '';
  for await (const chunk of ctx.io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  return text.split(/\r?\n/).filter((l) => l.trim().length > 0);
}

/** `adapterkit predict`: run a trained adapter + head on texts. */
export const predictCommand: CommandSpec = {
  name: 'predict',
  summary: 'predict with a trained adapter and head: labels, tags, filled masks or generated text',
  usage: ['--model DIR --adapter DIR [TEXT ...]', '--model DIR --adapter DIR < lines.txt'],
  details: [
    'One output line per input (arguments, else the lines of stdin), by the kind of head:',
    '  classification  LABEL<TAB>PROBABILITY<TAB>INPUT (the input echoed, tabs and line breaks as \\t and \\n;',
    '                  a text<TAB>pair line for pair tasks)',
    '  tagging         word/TAG word/TAG ...',
    '  masked LM       the text with each mask token filled, then token:probability per mask',
    '  causal LM       the prompt continued greedily by up to --max-new-tokens tokens',
    "Without --adapter, the head saved in the model folder is used ('adapterkit train --full' output).",
  ],
  options: {
    ...TRAINED_OPTIONS,
    'max-new-tokens': { type: 'string', value: 'N', description: 'causal LM: tokens to generate', default: '20' },
  },
  positionals: '[TEXT ...]',
  examples: [
    "adapterkit predict --model embedded --adapter out/spam 'WIN A FREE CRUISE!!! Click here' 'Meeting moved to 3pm'",
    'cat emails.txt | adapterkit predict --model embedded --adapter out/spam',
    "adapterkit predict --model gpt2-dir --adapter out/lm --max-new-tokens 30 'Call me Ishmael.'",
  ],
  async run(args, ctx) {
    const batchSize = args.int('batch-size', 32);
    const maxNewTokens = args.int('max-new-tokens', 20, 0);
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    const maxLength = maxLengthFor(args, model);
    const head = await loadForPrediction(model, source.dir, args, ctx);
    const dirs = [...args.strings('adapter').map((d) => resolve(ctx.io.cwd, d)), source.dir];
    const { tokenizer } = await resolveTokenizer(ctx, args.string('tokenizer'), dirs, model.info.vocabSize);
    const lines = args.positionals.length ? [...args.positionals] : await readStdinLines(ctx);
    const host = hostOf(model);
    const tokenTypes = host.config.typeVocabSize > 0;
    for (const line of predictLines(model, tokenizer, lines, { head, maxLength, batchSize, tokenTypes, maxNewTokens })) ctx.out(line);
  },
};
