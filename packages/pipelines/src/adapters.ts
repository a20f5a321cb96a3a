import { AdapterKitError, Stack, toSource, type AdapterModel, type SourceInput } from '@adapterkit/core';
import { getHeads, HEAD_CONFIG_FILE, loadAdapterWithHead, loadHead, type HeadConfig } from '@adapterkit/training';

/** Which adapter(s) and head a pipeline uses. */
export interface AdapterSelection {
  /**
   * The adapter: the name of one already in the model, or a saved adapter folder (path, URL or source; loaded with
   * its head, as `adapterkit train` and `saveAdapterWithHead(model, dir, name)` write it). Several are stacked
   * in the order given (`Stack(a, b)`). Default: the model's active setup as it is.
   */
  readonly adapter?: SourceInput | readonly SourceInput[];
  /**
   * The prediction head: the name of a head in the model, or a folder with `head_config.json`. Default: the head
   * loaded with the (last) adapter, else the model's active head.
   */
  readonly head?: SourceInput;
}

/** What {@link useAdapter} activated. */
export interface ActiveSelection {
  /** The adapters of the active setup, in order (empty: the bare base model). */
  readonly adapters: readonly string[];
  /** The head to predict with, when there is one. */
  readonly head?: string;
}

/**
 * Load (or find) the selected adapters and head in `model` and activate them: adapters as `Stack(...)` of those
 * given, the head as the one to predict with.
 *
 * @throws AdapterKitError `NO_SUCH_ADAPTER` for a string that is neither an adapter of the model nor a folder with
 *   `adapter_config.json`; the loaders' typed errors for malformed files.
 */
export async function useAdapter(model: AdapterModel, selection: AdapterSelection = {}): Promise<ActiveSelection> {
  const list = selection.adapter === undefined ? [] : Array.isArray(selection.adapter) ? (selection.adapter as readonly SourceInput[]) : [selection.adapter as SourceInput];
  const names: string[] = [];
  for (const a of list) {
    if (typeof a === 'string' && model.adapterNames().includes(a)) {
      names.push(a);
      continue;
    }
    const src = toSource(a);
    if (!(await src.has('adapter_config.json'))) {
      const known = model.adapterNames();
      throw new AdapterKitError('NO_SUCH_ADAPTER', `${src.label}: neither an adapter of the model (${known.length ? known.join(', ') : 'none'}) nor a folder with adapter_config.json`);
    }
    names.push(await loadAdapterWithHead(model, src));
  }
  if (names.length === 1) model.setActiveAdapters(names[0]!);
  else if (names.length > 1) model.setActiveAdapters(Stack(...names));
  const heads = getHeads(model);
  let head: string | undefined;
  if (selection.head !== undefined) {
    const h = selection.head;
    if (typeof h === 'string' && heads.has(h)) head = h;
    else {
      const src = toSource(h);
      if (!(await src.has(HEAD_CONFIG_FILE))) {
        throw new AdapterKitError('NO_SUCH_HEAD', `${src.label}: neither a head of the model (${heads.names().join(', ') || 'none'}) nor a folder with ${HEAD_CONFIG_FILE}`);
      }
      head = await loadHead(model, src);
    }
    heads.setActiveHead(head);
  } else {
    const last = names[names.length - 1];
    if (last !== undefined && heads.has(last)) head = last;
    else {
      const active = heads.activeHead;
      if (active?.kind === 'single') head = active.names[0];
    }
  }
  return { adapters: names, ...(head !== undefined ? { head } : {}) };
}

/** The head `name`'s config, checked to be one of `types`; `PIPELINE_HEAD` error naming the task otherwise. */
export function requireHead(model: AdapterModel, name: string | undefined, task: string, types: readonly HeadConfig['headType'][]): HeadConfig {
  if (name === undefined) {
    throw new AdapterKitError('PIPELINE_HEAD', `${task} needs a ${types.join(' or ')} head: pass { adapter } (a folder saved with its head) or { head }`);
  }
  const config = getHeads(model).require(name).config;
  if (!types.includes(config.headType)) {
    throw new AdapterKitError('PIPELINE_HEAD', `${task} needs a ${types.join(' or ')} head; head '${name}' is ${config.headType}`);
  }
  return config;
}

/** Label names of a classification/tagging head by id (its `label2id`; `LABEL_i` where none). */
export function headLabels(config: HeadConfig, count: number): string[] {
  const names: string[] = [];
  for (const [label, id] of Object.entries(config.label2id ?? {})) names[id] = label;
  return Array.from({ length: count }, (_, i) => names[i] ?? `LABEL_${i}`);
}
