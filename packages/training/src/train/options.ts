import { AdapterKitError } from '@adapterkit/core';

/** An option that must be a positive integer (`dflt` when not given); throws `BAD_TRAIN_OPTIONS` naming it otherwise. */
export function positiveInt(value: number | undefined, name: string, dflt: number): number {
  const x = value ?? dflt;
  if (!Number.isInteger(x) || x < 1) throw new AdapterKitError('BAD_TRAIN_OPTIONS', `${name} must be a positive integer, got ${x}`);
  return x;
}
