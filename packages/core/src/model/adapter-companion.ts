import { AdapterStateError } from '../errors';
import type { LoadAdapterOptions, SaveAdapterOptions } from './adapter-io';
import type { AdapterModel } from './adapter-model';
import type { FileSource } from '../io/source';

/**
 * A module that another package saves and loads next to an adapter of the same name, in the same folder: the
 * reference's prediction head (`save_adapter(..., with_head=True)`). Core knows no heads; `@adapterkit/training`
 * registers this when it is imported, and `saveAdapter`/`loadAdapter` use it when asked `{ withHead: true }`.
 */
export interface AdapterCompanion {
  /**
   * The files of the module named `name`, written in the same atomic write as the adapter's; undefined when the
   * model has none of that name (the adapter is then saved alone, as the reference does).
   */
  serialize(model: AdapterModel, name: string, options: SaveAdapterOptions): Promise<Record<string, Uint8Array | string> | undefined>;
  /**
   * Load the module `dir` holds, if any, under `name` (the adapter just loaded). Validates before it allocates: on
   * error the model has no new module.
   */
  load(model: AdapterModel, dir: FileSource, name: string, options: LoadAdapterOptions): Promise<void>;
}

let headCompanion: AdapterCompanion | undefined;

/** Register the prediction-head companion (`@adapterkit/training` does this on import). The last one wins. */
export function registerHeadCompanion(companion: AdapterCompanion): void {
  headCompanion = companion;
}

/**
 * The registered prediction-head companion.
 *
 * @throws AdapterStateError `NO_HEAD_SUPPORT` when none is: `{ withHead: true }` needs `@adapterkit/training`.
 */
export function requireHeadCompanion(): AdapterCompanion {
  if (!headCompanion) {
    throw new AdapterStateError('NO_HEAD_SUPPORT', '{ withHead: true } needs prediction heads: import @adapterkit/training (it registers them)');
  }
  return headCompanion;
}
