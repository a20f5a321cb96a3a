/**
 * `pnpm results`: fine-tuning methods compared on the embedded tasks with the embedded base model
 * (`packages/bert-mini/model`): full fine-tuning, Pfeiffer, Houlsby, prefix tuning, Compacter++, LoRA, DoRA, prompt
 * tuning, LoReFT and the head alone on the frozen model — test accuracy, trainable parameters, saved file size and training time, for the
 * SpamAssassin spam/ham task and the UDHR language-identification task (fixed seeded splits, seed 42, on the backend `initBackend` picks or `--backend`).
 * Every run trains the method plus a 2-layer classification head with AdamW and a linear schedule (10 % warm-up).
 * Runs in `--jobs` worker processes (default 2, one per core; each worker runs its share one after the other), then
 * prints a Markdown table and writes `out/results.md` + `out/results.json`.
 *
 *   pnpm results [--only spam,langid] [--methods full,pfeiffer,...] [--spam-steps 400] [--langid-steps 200] [--jobs 2]
 *     [--lr pfeiffer=3e-3,...] [--backend native|wasm|cpu|...] [--model DIR] [--out DIR] [--resume]
 *
 * Every finished run is saved under `<out>/results-runs/`; `--resume` reuses those made with the same settings.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '@adapterkit/backends';
import { loadTokenizer } from '@adapterkit/data';
import { baseModelBytes, EMBEDDED_MODEL_DIR, fmtBytes, fmtInt, loadTask, runMethod, type Method, type RunResult, type Task } from './lib/task-runs';

/** The compared methods: name, how they fine-tune, and their peak learning rate. */
const METHODS: readonly { readonly id: string; readonly label: string; readonly method: Method; readonly lr: number }[] = [
  { id: 'full', label: 'full fine-tuning', method: { kind: 'full' }, lr: 1e-4 },
  { id: 'pfeiffer', label: 'Pfeiffer', method: { kind: 'adapter', config: 'pfeiffer[reduction_factor=2]' }, lr: 3e-3 },
  { id: 'houlsby', label: 'Houlsby', method: { kind: 'adapter', config: 'houlsby[reduction_factor=4]' }, lr: 3e-3 },
  { id: 'prefix', label: 'prefix tuning', method: { kind: 'adapter', config: 'prefix_tuning[prefix_length=10,bottleneck_size=256]' }, lr: 3e-3 },
  { id: 'compacter', label: 'Compacter++', method: { kind: 'adapter', config: 'compacter++[reduction_factor=2]' }, lr: 3e-3 },
  { id: 'lora', label: 'LoRA', method: { kind: 'adapter', config: 'lora[r=8,alpha=16]' }, lr: 3e-3 },
  { id: 'dora', label: 'DoRA', method: { kind: 'adapter', config: 'lora[r=8,alpha=16,use_dora=True]' }, lr: 3e-3 },
  { id: 'prompt', label: 'prompt tuning', method: { kind: 'adapter', config: 'prompt_tuning[prompt_length=10]' }, lr: 3e-3 },
  { id: 'loreft', label: 'LoReFT', method: { kind: 'adapter', config: 'loreft[prefix_positions=3,suffix_positions=3,r=4,dropout=0.0]' }, lr: 3e-3 },
  { id: 'head', label: 'head only (frozen model)', method: { kind: 'head-only' }, lr: 3e-3 },
];

const { values: argv } = parseArgs({
  options: {
    only: { type: 'string', default: 'spam,langid' },
    methods: { type: 'string', default: METHODS.map((m) => m.id).join(',') },
    'spam-steps': { type: 'string', default: '400' },
    'langid-steps': { type: 'string', default: '200' },
    'batch-size': { type: 'string', default: '16' },
    'max-length': { type: 'string', default: '64' },
    seed: { type: 'string', default: '42' },
    jobs: { type: 'string', default: '2' },
    // the backend every run uses (`initBackend(name)`); default: the best available, as the CLI picks it
    backend: { type: 'string' },
    resume: { type: 'boolean', default: false },
    lr: { type: 'string', default: '' },
    model: { type: 'string', default: EMBEDDED_MODEL_DIR },
    out: { type: 'string', default: resolve(import.meta.dirname, '../out') },
    // internal: a worker process runs these runs and writes their results to this file
    runs: { type: 'string' },
    'result-file': { type: 'string' },
  },
});
const tasks = argv.only.split(',') as Task['name'][];
const wanted = new Set(argv.methods.split(','));
const unknown = [...wanted].filter((id) => !METHODS.some((m) => m.id === id));
if (unknown.length > 0) throw new Error(`--methods: unknown ${unknown.join(', ')} (have: ${METHODS.map((m) => m.id).join(', ')})`);
const batchSize = Number(argv['batch-size']);
const maxLength = Number(argv['max-length']);
const seed = Number(argv.seed);
const jobs = Math.max(1, Number(argv.jobs));
/** `--lr pfeiffer=3e-3,lora=1e-3` overrides the methods' learning rates. */
const lrOverride = new Map(
  argv.lr
    .split(',')
    .filter((x) => x !== '')
    .map((x) => {
      const [id, value] = x.split('=');
      if (!METHODS.some((m) => m.id === id) || !(Number(value) > 0)) throw new Error(`--lr: expected method=rate, got '${x}'`);
      return [id!, Number(value)] as const;
    }),
);
const lrOf = (m: (typeof METHODS)[number]): number => lrOverride.get(m.id) ?? m.lr;
const stepsOf = (t: Task['name']): number => Number(t === 'spam' ? argv['spam-steps'] : argv['langid-steps']);
const modelDir = resolve(argv.model);

interface Row {
  readonly task: Task['name'];
  readonly id: string;
  readonly label: string;
  readonly config: string;
  readonly lr: number;
  readonly steps: number;
  readonly result: RunResult;
  /** The backend that ran it, e.g. `native, 2 threads` (absent in runs saved before it was recorded). */
  readonly backend?: string;
}
/** Every run in table order: `task:method`. */
const allRuns = tasks.flatMap((t) => METHODS.filter((m) => wanted.has(m.id)).map((m) => `${t}:${m.id}`));
const t0 = performance.now();
const minutes = (): string => `${((performance.now() - t0) / 60000).toFixed(1)} min`;

/** Run `runs` in this process (one after the other) and return their rows. */
async function runAll(runs: readonly string[], log: (line: string) => void): Promise<Row[]> {
  const backend = await initBackend(argv.backend);
  const backendLabel = `${backend.name}${backend.threads !== undefined ? `, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}` : ''}`;
  const tokenizer = await loadTokenizer(modelDir);
  const rows: Row[] = [];
  const loaded = new Map<Task['name'], Task>();
  log(`backend ${backend.name}; ${runs.length} run(s): ${runs.join(', ')}`);
  for (const run of runs) {
    const [name, id] = run.split(':') as [Task['name'], string];
    const m = METHODS.find((x) => x.id === id)!;
    if (!loaded.has(name)) loaded.set(name, await loadTask(name, tokenizer, maxLength));
    const task = loaded.get(name)!;
    const steps = stepsOf(name);
    const lr = lrOf(m);
    const result = await runMethod(modelDir, task, m.method, { lr, batchSize, steps, warmupRatio: 0.1, seed });
    const config = m.method.kind === 'adapter' ? m.method.config : m.method.kind;
    const row: Row = { task: name, id, label: m.label, config, lr, steps, result, backend: backendLabel };
    rows.push(row);
    saveRow(run, row);
    log(
      `${name} ${m.label}: acc ${(100 * result.accuracy).toFixed(2)} %, params ${fmtInt(result.methodParams)} + head ${fmtInt(result.headParams)}, ` +
        `file ${fmtBytes(result.methodFileBytes)}, ${result.trainSeconds.toFixed(0)} s [${minutes()}]`,
    );
  }
  return rows;
}

/** Every finished run is kept in `<out>/results-runs/` with the settings it ran with, so `--resume` can skip it. */
const runFile = (run: string): string => join(argv.out, 'results-runs', `${run.replace(':', '-')}.json`);
const settingsOf = (run: string): string => {
  const [name, id] = run.split(':') as [Task['name'], string];
  const m = METHODS.find((x) => x.id === id)!;
  return JSON.stringify({ method: m.method, backend: argv.backend ?? 'best', lr: lrOf(m), steps: stepsOf(name), batchSize, maxLength, seed, model: modelDir, modelBytes: baseModelBytes(modelDir) });
};
function saveRow(run: string, row: Row): void {
  mkdirSync(dirname(runFile(run)), { recursive: true });
  writeFileSync(runFile(run), `${JSON.stringify({ settings: JSON.parse(settingsOf(run)) as unknown, row }, null, 2)}\n`);
}
/** The saved row of a run made with the same settings, if any. */
function savedRow(run: string): Row | undefined {
  if (!existsSync(runFile(run))) return undefined;
  const saved = JSON.parse(readFileSync(runFile(run), 'utf8')) as { settings: unknown; row: Row };
  return JSON.stringify(saved.settings) === settingsOf(run) ? saved.row : undefined;
}

/** Relative cost of a run (full fine-tuning ≈ 1.6 adapter runs, head-only ≈ 0.5), to balance the workers. */
const cost = (run: string): number => (run.endsWith(':full') ? 1.6 : run.endsWith(':head') ? 0.5 : 1) * stepsOf(run.split(':')[0] as Task['name']);

/** Split the runs over `n` workers, longest first onto the least loaded (LPT). */
function assign(runs: readonly string[], n: number): string[][] {
  const bins = Array.from({ length: n }, () => ({ load: 0, runs: [] as string[] }));
  for (const run of [...runs].sort((a, b) => cost(b) - cost(a))) {
    const bin = bins.reduce((a, b) => (b.load < a.load ? b : a));
    bin.runs.push(run);
    bin.load += cost(run);
  }
  return bins.filter((b) => b.runs.length > 0).map((b) => b.runs);
}

/** Run each group in a child process (this script with `--runs`), relaying its log lines. */
async function runInWorkers(groups: readonly string[][]): Promise<Row[]> {
  mkdirSync(argv.out, { recursive: true });
  const script = fileURLToPath(import.meta.url);
  const parts = await Promise.all(
    groups.map(
      (runs, i) =>
        new Promise<Row[]>((ok, fail) => {
          const file = join(argv.out, `results-worker-${i}.json`);
          const args = [...process.execArgv, script, ...process.argv.slice(2), '--runs', runs.join(','), '--result-file', file];
          const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
          createInterface({ input: child.stdout }).on('line', (line) => console.log(`[worker ${i}] ${line}`));
          child.on('error', fail);
          child.on('exit', (code) => (code === 0 ? ok(JSON.parse(readFileSync(file, 'utf8')) as Row[]) : fail(new Error(`worker ${i} (${runs.join(', ')}) exited with ${code}`))));
        }),
    ),
  );
  return parts.flat();
}

if (argv.runs !== undefined) {
  // worker process
  const rows = await runAll(argv.runs.split(','), (line) => console.log(line));
  writeFileSync(argv['result-file']!, JSON.stringify(rows));
  process.exit(0);
}

console.log(
  `results: ${tasks.map((t) => `${t} (${stepsOf(t)} steps)`).join(', ')} × ${[...wanted].join(', ')}; batch ${batchSize}, max length ${maxLength}, seed ${seed}, ${jobs} parallel job(s)`,
);
const reused = argv.resume ? allRuns.flatMap((run) => savedRow(run) ?? []) : [];
const todo = allRuns.filter((run) => !reused.some((r) => `${r.task}:${r.id}` === run));
if (reused.length > 0) console.log(`--resume: reusing ${reused.length} finished run(s) from ${join(argv.out, 'results-runs')}`);
const groups = assign(todo, jobs);
const fresh = groups.length > 1 ? await runInWorkers(groups) : await runAll(todo, (line) => console.log(line));
const unordered = [...reused, ...fresh];
const rows = allRuns.map((run) => unordered.find((r) => `${r.task}:${r.id}` === run)!);
const modelBytes = baseModelBytes(modelDir);
const table = [
  '| task | method | config | lr | test accuracy | trainable params (method + head) | saved method file (% of model) | training time |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(({ task, label, config, lr, result: r }) => {
    const file = r.methodFileBytes > 0 ? `${fmtBytes(r.methodFileBytes)} (${((100 * r.methodFileBytes) / modelBytes).toFixed(1)} %)` : '– (head only)';
    const params = `${fmtInt(r.methodParams)} + ${fmtInt(r.headParams)}`;
    return `| ${task} | ${label} | \`${config}\` | ${lr} | ${(100 * r.accuracy).toFixed(2)} % | ${params} | ${file} | ${r.trainSeconds.toFixed(0)} s |`;
  }),
].join('\n');
const cpu = cpus();
const heads = tasks.map((t) => `${t} ${fmtBytes(rows.find((r) => r.task === t)?.result.headFileBytes ?? 0)}`).join(', ');
const backendsUsed = [...new Set(rows.map((r) => r.backend ?? 'not recorded'))].join(' / ');
const footer =
  `${tasks.map((t) => `${t}: ${stepsOf(t)} steps`).join(', ')}, batch ${batchSize}, inputs truncated to ${maxLength} tokens, seed ${seed}; test accuracy on the fixed test split. ` +
  `Base model \`model.safetensors\` ${fmtBytes(modelBytes)}; every method also saves its head (\`model_head.safetensors\`: ${heads}). ` +
  `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, backend ${backendsUsed}, ${Math.min(jobs, allRuns.length)} run(s) at a time; total ${minutes()}.`;
console.log(`\n${table}\n\n${footer}`);
mkdirSync(argv.out, { recursive: true });
writeFileSync(join(argv.out, 'results.md'), `${table}\n\n${footer}\n`);
writeFileSync(join(argv.out, 'results.json'), `${JSON.stringify({ batchSize, maxLength, seed, jobs, steps: Object.fromEntries(tasks.map((t) => [t, stepsOf(t)])), modelBytes, rows }, null, 2)}\n`);
