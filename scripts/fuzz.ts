/**
 * `pnpm fuzz [--target NAME] [--inputs N] [--seed S] [--time-limit-ms MS] [--max-seconds S] [--out DIR]`: seeded
 * mutation + grammar-based fuzzing of every reader and parser a user's file or string reaches. Prints one line per
 * target and `fuzz: N inputs, K unexpected` last; exits 1 when anything unexpected happened (reproducers are saved
 * under `--out`, default `fuzz-reproducers/`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzTarget } from './fuzz/harness';
import { cleanupTargets, makeTargets } from './fuzz/targets';

function parseArgs(argv: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const [k, v] = a.includes('=') ? [a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a.slice(2), argv[++i]];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    if (!['target', 'inputs', 'seed', 'time-limit-ms', 'max-seconds', 'out'].includes(k!)) throw new Error(`unknown option --${k}`);
    out[k!] = v;
  }
  return out;
}

const num = (s: string | undefined, name: string, dflt: number): number => {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} expects a non-negative number, got '${s}'`);
  return n;
};

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2).filter((a) => a !== '--'));
  const inputs = num(args['inputs'], 'inputs', 1000);
  const seed = num(args['seed'], 'seed', 1);
  const work = mkdtempSync(join(tmpdir(), 'adapterkit-fuzz-'));
  try {
    const all = await makeTargets(work);
    const wanted = args['target']?.split(',');
    const unknown = wanted?.filter((w) => !all.some((t) => t.name === w)) ?? [];
    if (unknown.length) throw new Error(`unknown --target ${unknown.join(', ')} (targets: ${all.map((t) => t.name).join(', ')})`);
    let total = 0;
    let bad = 0;
    for (const t of all.filter((t) => !wanted || wanted.includes(t.name))) {
      const r = await fuzzTarget(t, {
        inputs,
        seed,
        timeLimitMs: num(args['time-limit-ms'], 'time-limit-ms', 2000),
        maxSeconds: args['max-seconds'] === undefined ? undefined : num(args['max-seconds'], 'max-seconds', 0),
        outDir: args['out'] ?? 'fuzz-reproducers',
      });
      total += r.inputs;
      bad += r.unexpected;
      console.log(`${r.target.padEnd(15)} ${String(r.inputs).padStart(7)} inputs  ${String(r.ok).padStart(7)} ok  ${String(r.typed).padStart(7)} typed errors  ${r.unexpected} unexpected  ${r.seconds.toFixed(1)} s`);
      for (const line of r.reproducers.slice(0, 5)) console.log(`  ${line}`);
    }
    console.log(`fuzz: ${total} inputs, ${bad} unexpected`);
    return bad === 0 ? 0 : 1;
  } finally {
    cleanupTargets(work);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`fuzz: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
