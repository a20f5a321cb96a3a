import type { AdapterModel, LoadAdapterOptions, ModelInputs } from '@adapterkit/core';
import { disposeOutputs } from './conformance-harness';
import { maxAbsDiff } from './tensors';

/** What {@link saveReloadDiff} measured. */
export interface SaveReloadResult {
  /** Largest |difference| of the last hidden state `[batch, seq, hidden]` before saving and after reloading. */
  readonly maxDiff: number;
  /** The name the adapter was loaded back under. */
  readonly loadedName: string;
}

/**
 * The save → delete → load round trip every method's tests run: forward `inputs` with adapter `name` active,
 * `saveAdapter(dir, name, { adapterKitOnly: true })` (our own round trip, any config), delete the adapter, `loadAdapter(dir, { setActive: true, ...loadOptions })`, forward
 * again. `maxDiff` is 0 when the round trip is exact. The saved files stay in `dir` for further checks; the
 * forward outputs are disposed.
 */
export async function saveReloadDiff(model: AdapterModel, name: string, dir: string, inputs: ModelInputs, loadOptions: LoadAdapterOptions = {}): Promise<SaveReloadResult> {
  model.setActiveAdapters(name);
  const before = model.forward(inputs);
  try {
    await model.saveAdapter(dir, name, { adapterKitOnly: true });
    model.deleteAdapter(name);
    const loadedName = await model.loadAdapter(dir, { setActive: true, ...loadOptions });
    const after = model.forward(inputs);
    try {
      return { maxDiff: maxAbsDiff(after.lastHiddenState, before.lastHiddenState), loadedName };
    } finally {
      disposeOutputs(after);
    }
  } finally {
    disposeOutputs(before);
  }
}
