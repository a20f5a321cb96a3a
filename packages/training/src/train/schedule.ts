import { AdapterConfigError } from '@adapterkit/core';

/** Learning-rate schedules (HF `get_{linear,cosine,constant}_schedule_with_warmup`). */
export type ScheduleName = 'linear' | 'cosine' | 'constant';

/** A schedule over optimizer steps. */
export interface ScheduleOptions {
  readonly schedule: ScheduleName;
  readonly baseLr: number;
  /** Steps of linear warm-up from 0 (default 0). */
  readonly warmupSteps: number;
  /** Total optimizer steps (the linear/cosine decay reaches 0 there). */
  readonly totalSteps: number;
}

/**
 * Learning rate of the optimizer update number `step` (0-based), as HF's `LambdaLR` gives it: the first update of a
 * warm-up uses lr 0. linear: `step/warmup`, then `(total−step)/(total−warmup)`; cosine: half a cosine period from
 * `baseLr` to 0 after warm-up; constant: `baseLr` after warm-up.
 */
export function learningRate(step: number, o: ScheduleOptions): number {
  const { warmupSteps: w, totalSteps: t } = o;
  if (step < w) return (o.baseLr * step) / Math.max(1, w);
  switch (o.schedule) {
    case 'constant':
      return o.baseLr;
    case 'linear':
      return o.baseLr * Math.max(0, (t - step) / Math.max(1, t - w));
    case 'cosine': {
      const progress = (step - w) / Math.max(1, t - w);
      return o.baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
    default:
      throw new AdapterConfigError('BAD_SCHEDULE', `Unknown schedule '${String(o.schedule)}' (known: linear, cosine, constant)`);
  }
}
