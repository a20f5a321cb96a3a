/**
 * A small seeded fuzzing harness (a tool, not library code): mutation of seed inputs plus grammar-based generation,
 * run against a target function. Every input must end in a result or one of our typed errors (`AdapterKitError`
 * subclasses, `TorchFormatError`) within a time and heap bound; anything else is saved as a reproducer file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdapterKitError } from '@adapterkit/core';
import { TorchFormatError } from '@adapterkit/torch-format';

/** Seeded PRNG (mulberry32). */
export class FuzzRng {
  private a: number;
  constructor(seed: number) {
    this.a = seed >>> 0;
  }
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** A fuzz target: a reader or parser a user's file or string reaches. */
export interface FuzzTarget {
  readonly name: string;
  /** Valid inputs to mutate. */
  readonly seeds: readonly Uint8Array[];
  /** Grammar-based generator of (mostly well-formed) inputs. */
  readonly generate?: (rng: FuzzRng) => Uint8Array;
  /** Runs one input; returns normally or throws. */
  readonly run: (input: Uint8Array) => unknown;
  /** Extra expected error classes (besides AdapterKitError and TorchFormatError). */
  readonly expected?: readonly (new (...args: never[]) => Error)[];
}

const enc = new TextEncoder();
export const utf8 = (s: string): Uint8Array => enc.encode(s);

/** Text tokens that tend to reach deep paths of JSON/literal/CSV parsers. */
const TOKENS = [
  '[', ']', '{', '}', '(', ')', ',', ':', '"', "'", '\\', '\n', '\r\n', '0', '-1', '1e308', '1e-300', '-0', 'NaN', 'Infinity',
  'null', 'true', 'None', 'True', '\u0000', '\uFFFF', '\uD800', '9007199254740993', '"__proto__"', '"constructor"', '|', '=', '[[[[[[[[',
];

/** One random mutation of `data` (bytes and text-aware): flips, inserts, deletes, splices, deep nesting, huge numbers. */
export function mutate(data: Uint8Array, rng: FuzzRng, seeds: readonly Uint8Array[]): Uint8Array {
  let out = new ByteList(data);
  const n = 1 + rng.int(4);
  for (let k = 0; k < n; k++) {
    const pos = out.length === 0 ? 0 : rng.int(out.length + 1);
    switch (rng.int(10)) {
      case 0:
        if (out.length) out.set(Math.min(pos, out.length - 1), out.at(Math.min(pos, out.length - 1)) ^ (1 << rng.int(8)));
        break;
      case 1:
        if (out.length) out.set(Math.min(pos, out.length - 1), rng.pick([0, 0xff, 0x7f, 0x80, 0x22, 0x5b, 0x7b, 0x30 + rng.int(10)]));
        break;
      case 2:
        out.splice(pos, 1 + rng.int(16));
        break;
      case 3:
        out.splice(pos, 0, utf8(rng.pick(TOKENS)));
        break;
      case 4: {
        const a = rng.int(out.length + 1);
        const b = Math.min(out.length, a + rng.int(64));
        out.splice(pos, 0, out.slice(a, b));
        break;
      }
      case 5: {
        // deep nesting
        const depth = rng.pick([10, 100, 1000, 5000, 50_000]);
        const [o, c] = rng.pick([['[', ']'], ['{"a":', '}'], ['(', ')'], ['Stack[', ']']] as const);
        out.splice(pos, 0, utf8(o.repeat(depth) + '1' + c.repeat(rng.chance(0.5) ? depth : rng.int(depth))));
        break;
      }
      case 6: {
        // a number somewhere: replace the digits at pos with an extreme value
        let end = pos;
        while (end < out.length && out.at(end) >= 0x30 && out.at(end) <= 0x39) end++;
        out.splice(pos, end - pos, utf8(rng.pick(['1e9', '1e-300', '1e-7', '-5', '0', '4294967296', '1e308', '0.5', '2.0', '65537'])));
        break;
      }
      case 7: {
        const other = rng.pick(seeds);
        if (other && other.length) {
          const a = rng.int(other.length);
          out.splice(pos, rng.int(32), other.subarray(a, a + rng.int(128)));
        }
        break;
      }
      case 8:
        out = new ByteList(out.slice(0, pos));
        break;
      default:
        // a long string
        out.splice(pos, 0, utf8('x'.repeat(rng.pick([100, 10_000, 200_000]))));
    }
  }
  return out.bytes;
}

/** A growable byte array with the few list operations `mutate` needs (no argument spreading of big arrays). */
class ByteList {
  bytes: Uint8Array;
  constructor(b: Uint8Array) {
    this.bytes = b.slice();
  }
  get length(): number {
    return this.bytes.length;
  }
  at(i: number): number {
    return this.bytes[i]!;
  }
  set(i: number, v: number): void {
    this.bytes[i] = v;
  }
  slice(a: number, b?: number): Uint8Array {
    return this.bytes.slice(a, b);
  }
  splice(pos: number, del: number, ins: Uint8Array = new Uint8Array(0)): void {
    const b = this.bytes;
    const end = Math.min(b.length, pos + del);
    const out = new Uint8Array(b.length - (end - pos) + ins.length);
    out.set(b.subarray(0, pos), 0);
    out.set(ins, pos);
    out.set(b.subarray(end), pos + ins.length);
    this.bytes = out;
  }
}

/** Result of fuzzing one target. */
export interface FuzzReport {
  readonly target: string;
  readonly inputs: number;
  readonly typed: number;
  readonly ok: number;
  readonly unexpected: number;
  readonly seconds: number;
  readonly reproducers: readonly string[];
}

/** Options of {@link fuzzTarget}. */
export interface FuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** Per-input CPU-time bound in ms (exceeding it twice counts as unexpected). Default 2000. */
  readonly timeLimitMs?: number;
  /** Per-input heap growth bound in bytes. Default 512 MiB. */
  readonly heapLimitBytes?: number;
  /** Where reproducers are written. */
  readonly outDir: string;
  /** Stop after this many seconds even if fewer inputs ran. */
  readonly maxSeconds?: number;
}

function isExpected(err: unknown, target: FuzzTarget): boolean {
  if (err instanceof AdapterKitError || err instanceof TorchFormatError) return true;
  return (target.expected ?? []).some((c) => err instanceof c);
}

/** Fuzzes `target` with `opts.inputs` inputs; reproducers of unexpected outcomes go to `opts.outDir`. */
export async function fuzzTarget(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const rng = new FuzzRng(opts.seed ^ hash(target.name));
  const timeLimit = opts.timeLimitMs ?? 2000;
  const heapLimit = opts.heapLimitBytes ?? 512 * 2 ** 20;
  const start = performance.now();
  let typed = 0;
  let ok = 0;
  let done = 0;
  const reproducers: string[] = [];
  for (; done < opts.inputs; done++) {
    if (opts.maxSeconds !== undefined && (performance.now() - start) / 1000 > opts.maxSeconds) break;
    const input = nextInput(target, rng);
    const heap0 = process.memoryUsage().heapUsed;
    let problem: string | undefined;
    const attempt = async (): Promise<number> => {
      // CPU time of this process (user + system), so other processes on a busy machine do not count against it
      const t0 = process.cpuUsage();
      try {
        await target.run(input);
        return 0;
      } catch (err) {
        if (isExpected(err, target)) return 1;
        problem = `${(err as Error)?.constructor?.name ?? typeof err}: ${String((err as Error)?.message ?? err).slice(0, 300)}`;
        return 2;
      } finally {
        const d = process.cpuUsage(t0);
        lastMs = (d.user + d.system) / 1000;
      }
    };
    let lastMs = 0;
    let outcome = await attempt();
    // A time-bound miss is re-tried once (a GC pause must not pass for a slow input); the faster run counts.
    if (problem === undefined && lastMs > timeLimit) {
      const first = lastMs;
      outcome = await attempt();
      lastMs = Math.min(first, lastMs);
    }
    if (outcome === 0) ok++;
    else if (outcome === 1) typed++;
    const ms = lastMs;
    const heap = process.memoryUsage().heapUsed - heap0;
    if (problem === undefined && ms > timeLimit) problem = `took ${ms.toFixed(0)} ms of CPU time, twice (limit ${timeLimit} ms)`;
    if (problem === undefined && heap > heapLimit) problem = `heap grew by ${(heap / 2 ** 20).toFixed(0)} MiB (limit ${heapLimit / 2 ** 20} MiB)`;
    if (problem !== undefined) {
      mkdirSync(opts.outDir, { recursive: true });
      const file = join(opts.outDir, `${target.name}-seed${opts.seed}-${done}.bin`);
      writeFileSync(file, input);
      writeFileSync(`${file}.txt`, `${problem}\n`);
      reproducers.push(`${file}: ${problem}`);
    }
  }
  return { target: target.name, inputs: done, typed, ok, unexpected: reproducers.length, seconds: (performance.now() - start) / 1000, reproducers };
}

function nextInput(target: FuzzTarget, rng: FuzzRng): Uint8Array {
  const r = rng.next();
  if (target.generate && (r < 0.3 || target.seeds.length === 0)) return target.generate(rng);
  if (target.generate && r < 0.45) return mutate(target.generate(rng), rng, target.seeds);
  return mutate(rng.pick(target.seeds), rng, target.seeds);
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
