import { parseAdapterSpec } from '@adapterkit/core';

const NAMED = /^([A-Za-z_][\w-]*)=(.+)$/s;

/**
 * Split a `--config` value into an adapter name and a config string: `lang=pfeiffer+inv` names the adapter
 * `lang`; a bare config (`pfeiffer[reduction_factor=2]`, `prefix_tuning|parallel`) is named after its config
 * names (`pfeiffer`, `prefix_tuning_parallel`), or `fallback` when it does not parse (adding it then reports
 * the syntax error).
 */
export function splitNamedConfig(value: string, fallback = 'adapter'): { name: string; config: string } {
  const m = NAMED.exec(value.trim());
  if (m) return { name: m[1]!, config: m[2]! };
  let name = fallback;
  try {
    name = parseAdapterSpec(value).map((c) => c.name.replace(/[^\w+-]/g, '_')).join('_') || fallback;
  } catch {
    // keep the fallback name; addAdapter reports the syntax error with its position
  }
  return { name, config: value };
}
