import { adapterNames } from '../composition/blocks';
import type { AdapterModel } from './adapter-model';

/** One row of {@link adapterSummary}. */
export interface AdapterSummaryRow {
  readonly name: string;
  /** `bottleneck`, `prefix_tuning`, `lora`, `union`, ... (the config's `architecture`). */
  readonly architecture: string;
  readonly numParams: number;
  /** Percentage of the base model's parameter count (adapters excluded). */
  readonly percent: number;
  readonly active: boolean;
  readonly train: boolean;
}

/** Per-adapter parameter counts, as the reference's `adapter_summary(as_dict=True)`. */
export function adapterSummary(model: AdapterModel): AdapterSummaryRow[] {
  const base = model.info.numParameters;
  const active = new Set(model.activeAdapters ? adapterNames(model.activeAdapters) : []);
  return model.adapterNames().map((name) => {
    const entry = model.requireAdapter(name);
    const numParams = entry.params.count();
    const archs = entry.members.map((m) => m.method.architecture ?? 'bottleneck');
    return {
      name,
      architecture: archs.length > 1 ? 'union' : archs[0]!,
      numParams,
      percent: (100 * numParams) / base,
      active: active.has(name),
      train: entry.params.list().some((p) => p.variable.trainable),
    };
  });
}

const pad = (s: string, n: number, right = false): string => (right ? s.padStart(n) : s.padEnd(n));
const num = (n: number): string => n.toLocaleString('en-US');

/** The summary table in the reference's layout (`Name  Architecture  #Param  %Param  Active  Train`). */
export function formatAdapterSummary(model: AdapterModel): string {
  const rows = adapterSummary(model);
  const line = (c: string): string => c.repeat(80);
  const out = [line('='), pad('Name', 25) + pad('Architecture', 15) + pad('#Param', 12, true) + pad('%Param', 12, true) + pad('Active', 8, true) + pad('Train', 8, true), line('-')];
  for (const r of rows) {
    out.push(
      pad(r.name, 25) + pad(r.architecture, 15) + pad(num(r.numParams), 12, true) + pad(r.percent.toFixed(3), 12, true) +
        pad(r.active ? '1' : '0', 8, true) + pad(r.train ? '1' : '0', 8, true),
    );
  }
  if (rows.length > 0) out.push(line('-'));
  const baseTrain = [...model.host.parameters.values()].some((v) => v.trainable);
  out.push(pad('Full model', 25) + pad('', 15) + pad(num(model.info.numParameters), 12, true) + pad((100).toFixed(3), 12, true) + pad('', 8) + pad(baseTrain ? '1' : '0', 8, true));
  out.push(line('='));
  return out.join('\n');
}
