import type { AdapterModel } from '@adapterkit/core';
import { maxSequenceLength, type ModelHost } from '@adapterkit/models';
import type { Args } from '../cli/args';
import { CliError } from '../cli/errors';

/** The host of a model the CLI loaded (always a `@adapterkit/models` host, which carries its parsed config). */
export function hostOf(model: AdapterModel): ModelHost {
  return model.host as ModelHost;
}

/** `--max-length`: default `min(128, model limit)`; a larger explicit value than the model takes is an error. */
export function maxLengthFor(args: Args, model: AdapterModel): number {
  const limit = maxSequenceLength(hostOf(model).config);
  const n = args.int('max-length', Math.min(128, limit), 2);
  if (n > limit) throw new CliError(`--max-length ${n} exceeds the model's ${limit} positions`);
  return n;
}
