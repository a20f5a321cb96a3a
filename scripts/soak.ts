/**
 * `pnpm soak [--train-steps N] [--add-delete N] [--load-delete N] [--backend NAME] [--rss-slope-limit MIB]
 * [--heap-slope-limit MIB]`: run the soak phases (`scripts/soak/soak.ts`; defaults 1,000 training steps, 1,000
 * add/delete and 200 load/delete cycles, wasm on one thread) and print `numTensors`, RSS and V8 heap figures per
 * phase (memory sampled after a full GC: `pnpm soak` runs Node with `--expose-gc`). Exits 1 when `numTensors` is not
 * back to its count after a phase (or moved between the first and the last training step), or when RSS or the heap
 * grew faster than the limits (default 16 and 2 MiB per 1,000 operations) over the second half of a phase.
 */
import { initBackend } from '@adapterkit/backends';
import { formatPhase, runSoak } from './soak/soak';

const OPTIONS = ['train-steps', 'add-delete', 'load-delete', 'backend', 'rss-slope-limit', 'heap-slope-limit'] as const;

function parseArgs(argv: readonly string[]): Partial<Record<(typeof OPTIONS)[number], string>> {
  const out: Partial<Record<(typeof OPTIONS)[number], string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    const k = a.startsWith('--') ? a.slice(2) : undefined;
    if (!k || !(OPTIONS as readonly string[]).includes(k)) throw new Error(`unknown argument '${a}' (options: ${OPTIONS.map((o) => `--${o}`).join(', ')})`);
    const v = argv[++i];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    out[k as (typeof OPTIONS)[number]] = v;
  }
  return out;
}

function count(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const limit = (name: 'rss-slope-limit' | 'heap-slope-limit', dflt: number): number => {
    const n = Number(args[name] ?? dflt);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} expects a non-negative number, got '${args[name]}'`);
    return n;
  };
  const rssLimit = limit('rss-slope-limit', 16);
  const heapLimit = limit('heap-slope-limit', 2);
  const backend = await initBackend(args.backend ?? 'wasm', { threads: 1 });
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') console.log('soak: no --expose-gc: memory is sampled without a forced GC (noisier)');
  console.log(`soak: backend ${backend.name} (${backend.package}, ${backend.threads ?? 1} thread(s)), node ${process.version}`);
  const figures = await runSoak(
    {
      trainSteps: count(args['train-steps'], 'train-steps', 1000),
      addDelete: count(args['add-delete'], 'add-delete', 1000),
      loadDelete: count(args['load-delete'], 'load-delete', 200),
    },
    (f) => console.log(formatPhase(f)),
  );
  const problems: string[] = [];
  for (const f of figures) {
    if (f.tensorsAfter !== f.tensorsBefore) problems.push(`${f.phase}: numTensors ${f.tensorsBefore} → ${f.tensorsAfter}`);
    if (f.tensorsFirstStep !== f.tensorsLastStep) problems.push(`${f.phase}: numTensors ${f.tensorsFirstStep} at step 1, ${f.tensorsLastStep} at the last step`);
    if (f.rssSlopeMiBPer1000 > rssLimit) problems.push(`${f.phase}: RSS grew ${f.rssSlopeMiBPer1000.toFixed(1)} MiB per 1000 over the second half (limit ${rssLimit})`);
    if (f.heapSlopeMiBPer1000 > heapLimit) problems.push(`${f.phase}: the heap grew ${f.heapSlopeMiBPer1000.toFixed(1)} MiB per 1000 over the second half (limit ${heapLimit})`);
  }
  console.log(problems.length === 0 ? 'soak: flat' : `soak: NOT flat\n  ${problems.join('\n  ')}`);
  return problems.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`soak: ${(err as Error).stack ?? String(err)}`);
    process.exit(2);
  },
);
