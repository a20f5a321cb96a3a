import { AdapterStateError } from '../errors';
import type { LoadAdapterOptions, SaveAdapterOptions } from './adapter-io';
import type { AdapterModel } from './adapter-model';
import type { FileSource } from '../io/source';

/**
 * A module that another package saves and loads next to an adapter of the same name, in the same folder: the
 * reference's prediction head (`save_adapter(..., with_head=True)`). Core knows no heads and holds no companion:
 * the caller passes them per call, `saveAdapter(dir, name, { companions: [headCompanion] })` /
 * `loadAdapter(dir, { companions: [headCompanion] })` (`headCompanion` is exported by `@adapterkit/training`).
 */
export interface AdapterCompanion {
  /** What the companion saves, for messages (e.g. `prediction head`). */
  readonly name: string;
  /**
   * The files of the module named `name`, written in the same atomic write as the adapter's; undefined when the
   * model has none of that name (the adapter is then saved alone, as the reference does).
   */
  serialize(model: AdapterModel, name: string, options: SaveAdapterOptions): Promise<Record<string, Uint8Array | string> | undefined>;
  /**
   * Load the module `dir` holds, if any, under `name` (the adapter just loaded). Validates before it allocates: on
   * error the model has no new module. Resolves to whether it loaded one.
   */
  load(model: AdapterModel, dir: FileSource, name: string, options: LoadAdapterOptions): Promise<boolean>;
  /** Remove (and dispose) the module `load` just loaded under `name`: the roll-back when a later companion fails. */
  remove(model: AdapterModel, name: string): void;
}

/**
 * The companions of a save or load call, checked before anything is read or written.
 *
 * @throws AdapterStateError `OPTION_REMOVED` when the options still carry `withHead` (the global head slot it relied
 *   on is gone: pass `{ companions: [headCompanion] }`, or call `saveAdapterWithHead`/`loadAdapterWithHead` of
 *   `@adapterkit/training`); `BAD_COMPANION` when an entry is not an {@link AdapterCompanion} or two share a name.
 */
export function companionsOf(options: { readonly companions?: readonly AdapterCompanion[] | undefined }): readonly AdapterCompanion[] {
  if ('withHead' in options && (options as { withHead?: unknown }).withHead !== undefined) {
    throw new AdapterStateError(
      'OPTION_REMOVED',
      '{ withHead } was removed: pass { companions: [headCompanion] } (headCompanion from @adapterkit/training), or call saveAdapterWithHead / loadAdapterWithHead',
    );
  }
  const list = options.companions ?? [];
  if (!Array.isArray(list)) throw new AdapterStateError('BAD_COMPANION', `{ companions } must be an array of AdapterCompanion, got ${typeof list}`);
  const seen = new Set<string>();
  list.forEach((c: unknown, i) => {
    const ok = !!c && typeof c === 'object' && typeof (c as AdapterCompanion).name === 'string'
      && typeof (c as AdapterCompanion).serialize === 'function' && typeof (c as AdapterCompanion).load === 'function'
      && typeof (c as AdapterCompanion).remove === 'function';
    if (!ok) throw new AdapterStateError('BAD_COMPANION', `{ companions }[${i}] is not an AdapterCompanion ({ name, serialize, load, remove })`);
    const name = (c as AdapterCompanion).name;
    if (seen.has(name)) throw new AdapterStateError('BAD_COMPANION', `{ companions } names '${name}' twice`);
    seen.add(name);
  });
  return list;
}
