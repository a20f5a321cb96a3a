import { GLOBAL_OPTIONS, type OptionSpec } from './args';
import type { CommandSpec } from './command';

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const left = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`;
    const right = `${o.description}${o.default !== undefined ? ` (default ${o.default})` : ''}${o.multiple ? ' (repeatable)' : ''}`;
    return [left, right] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, r]) => (l.length + 2 > width ? `  ${l}\n  ${' '.repeat(width)}${r}` : `  ${l.padEnd(width)}${r}`));
}

/** The `--help` text of one command. */
export function commandHelp(spec: CommandSpec): string {
  const lines = [`adapterkit ${spec.name}: ${spec.summary}`, '', 'Usage:', ...spec.usage.map((u) => `  adapterkit ${spec.name} ${u}`)];
  if (spec.details?.length) lines.push('', ...spec.details);
  if (Object.keys(spec.options).length) lines.push('', 'Options:', ...optionLines(spec.options));
  lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
  if (spec.examples.length) lines.push('', 'Examples:', ...spec.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** The top-level `adapterkit --help` text. */
export function mainHelp(commands: readonly CommandSpec[], version: string): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 2;
  return [
    `adapterkit ${version}: parameter-efficient fine-tuning (adapters) for Transformer models on TensorFlow.js`,
    '',
    'Usage:',
    '  adapterkit <command> [options]',
    '  adapterkit <command> --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Global options:',
    ...optionLines({ ...GLOBAL_OPTIONS, version: { type: 'boolean', description: 'print the version' } }),
    '',
    'Models (--model): a local Hugging Face folder (config.json + model.safetensors), `embedded` (the model shipped',
    'with the repository), or a Hub id `org/name` (downloaded once into ~/.cache/adapterkit/hub; override with',
    'ADAPTERKIT_CACHE; endpoint from HF_ENDPOINT or --hub-endpoint).',
  ].join('\n');
}
