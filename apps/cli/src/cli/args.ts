import { parseArgs } from 'node:util';
import { suggestNearest } from '@adapterkit/core';
import { UsageError } from './errors';

/** One command-line option of a command (long name = the record key). */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  /** May be given several times (values collected in order). */
  readonly multiple?: boolean;
  /** Placeholder of the value in the help, e.g. `DIR`. */
  readonly value?: string;
  readonly description: string;
  /** Default shown in the help (the command applies it). */
  readonly default?: string;
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  backend: { type: 'string', value: 'tensorflow|native|webgpu|webgl|wasm|cpu', description: 'tfjs backend (default: best available: tensorflow, a hardware webgpu, native, wasm, cpu); unavailable = error' },
  threads: { type: 'string', value: 'N', description: 'threads of the wasm (and native) backend (default: $ADAPTERKIT_THREADS, else all cores)' },
  verbose: { type: 'boolean', description: 'print stack traces and library notes' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies Record<string, OptionSpec>;

type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

/**
 * Parsed options and positionals of one command, with typed accessors that turn bad values into one-line
 * {@link UsageError}s naming the option.
 */
export class Args {
  constructor(
    readonly command: string,
    private readonly values: Values,
    readonly positionals: readonly string[],
  ) {}

  private hint(): string {
    return `(see 'adapterkit ${this.command} --help')`;
  }

  /** Whether the option was given. */
  has(name: string): boolean {
    return this.values[name] !== undefined;
  }

  /** A string option's value (the last one if repeated). */
  string(name: string): string | undefined {
    const v = this.values[name];
    if (Array.isArray(v)) return v.length ? String(v[v.length - 1]) : undefined;
    return typeof v === 'string' ? v : undefined;
  }

  /** A string option that must be given. */
  required(name: string, placeholder = 'VALUE'): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`missing --${name} ${placeholder} ${this.hint()}`);
    return v;
  }

  /** Every value of a repeatable option, in order. */
  strings(name: string): string[] {
    const v = this.values[name];
    if (v === undefined) return [];
    return (Array.isArray(v) ? v : [v]).map(String);
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** An integer option (`min` inclusive). */
  int(name: string, dflt: number, min?: number): number;
  int(name: string, dflt: undefined, min?: number): number | undefined;
  int(name: string, dflt: number | undefined, min = 1): number | undefined {
    const s = this.string(name);
    if (s === undefined) return dflt;
    if (!/^[+-]?\d+$/.test(s.trim())) throw new UsageError(`--${name} expects an integer, got '${s}'`);
    const n = Number(s);
    if (n < min) throw new UsageError(`--${name} must be at least ${min}, got ${n}`);
    return n;
  }

  /** A finite number option, `> 0` unless `allowZero`. */
  number(name: string, dflt: number, allowZero = false): number {
    const s = this.string(name);
    if (s === undefined) return dflt;
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${name} expects a number, got '${s}'`);
    if (allowZero ? n < 0 : n <= 0) throw new UsageError(`--${name} must be ${allowZero ? 'non-negative' : 'positive'}, got ${s}`);
    return n;
  }

  /** One of a fixed set of values. */
  choice<T extends string>(name: string, choices: readonly T[], dflt: T): T;
  choice<T extends string>(name: string, choices: readonly T[], dflt?: undefined): T | undefined;
  choice<T extends string>(name: string, choices: readonly T[], dflt?: T): T | undefined {
    const s = this.string(name);
    if (s === undefined) return dflt;
    if ((choices as readonly string[]).includes(s)) return s as T;
    const near = suggestNearest(s, choices);
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${s}'${near ? ` (did you mean '${near}'?)` : ''}`);
  }
}

function parseError(err: unknown, command: string, options: Record<string, OptionSpec>, argv: readonly string[]): UsageError {
  const e = err as { code?: string; message?: string };
  const known = Object.keys(options);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const m = /'(-{1,2}[^'\s=]+)/.exec(e.message ?? '');
    const raw = m?.[1] ?? argv.find((a) => a.startsWith('-')) ?? '?';
    const near = suggestNearest(raw.replace(/^-+/, ''), known);
    return new UsageError(`unknown option '${raw}' for 'adapterkit ${command}'${near ? ` (did you mean '--${near}'?)` : ''}`);
  }
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const m = /'([^']*)'/.exec(e.message ?? '');
    return new UsageError(`unexpected argument '${m?.[1] ?? '?'}' for 'adapterkit ${command}' (options start with --)`);
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /'(--?[\w-]+)/.exec(e.message ?? '');
    const name = m?.[1] ?? 'option';
    const spec = options[name.replace(/^-+/, '')];
    return new UsageError(
      spec?.type === 'boolean' ? `${name} takes no value` : `${name} needs a value${spec?.value ? ` (${spec.value})` : ''}; write ${name}=VALUE if the value starts with '-'`,
    );
  }
  return new UsageError(`${(e.message ?? String(err)).split('\n')[0]}`);
}

/**
 * Parse `argv` (without the command name) against a command's options plus the {@link GLOBAL_OPTIONS}
 * (node:util `parseArgs`, strict). Errors become one-line {@link UsageError}s with a "did you mean" hint.
 */
export function parseCommandLine(command: string, options: Record<string, OptionSpec>, allowPositionals: boolean, argv: readonly string[]): Args {
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...options };
  const config = Object.fromEntries(
    Object.entries(all).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
  try {
    const { values, positionals } = parseArgs({ args: [...argv], options: config, allowPositionals, strict: true });
    return new Args(command, values as Values, positionals);
  } catch (err) {
    throw parseError(err, command, all, argv);
  }
}

/** Split `argv` into the command name and the rest; global options may come before the command. */
export function splitCommand(argv: readonly string[]): { command: string | undefined; rest: string[] } {
  const valued = new Set(Object.entries(GLOBAL_OPTIONS).filter(([, o]) => o.type === 'string').map(([n]) => `--${n}`));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (valued.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return { command: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { command: undefined, rest: [...argv] };
}
