/**
 * `pnpm results`: fine-tuning methods compared on the embedded tasks with the embedded base model
 * (`models/adapterkit-bert-mini`): full fine-tuning, Pfeiffer, Houlsby, prefix tuning, Compacter++, LoRA and the
 * head alone on the frozen model — test accuracy, trainable parameters, saved file size and training time, for the
 * SpamAssassin spam/ham task and the UDHR language-identification task (fixed seeded splits, seed 42, wasm backend).
 * Every run trains the method plus a 2-layer classification head with AdamW and a linear schedule (10 % warm-up).
 * Runs one after the other in one process; prints a Markdown table and writes `out/results.md` + `out/results.json`.
 *
 *   pnpm results [--only spam,langid] [--methods full,pfeiffer,...] [--spam-steps 200] [--langid-steps 150] [--model DIR]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '@adapterkit/core';
import { loadTokenizer } from '@adapterkit/data';
import { baseModelBytes, EMBEDDED_MODEL_DIR, fmtBytes, fmtInt, loadTask, runMethod, type Method, type RunResult, type Task } from './lib/task-runs';

/** The compared methods: name, how they fine-tune, and their peak learning rate. */
const METHODS: readonly { readonly id: string; readonly label: string; readonly method: Method; readonly lr: number }[] = [
  { id: 'full', label: 'full fine-tuning', method: { kind: 'full' }, lr: 1e-4 },
  { id: 'pfeiffer', label: 'Pfeiffer', method: { kind: 'adapter', config: 'pfeiffer[reduction_factor=8]' }, lr: 1e-3 },
  { id: 'houlsby', label: 'Houlsby', method: { kind: 'adapter', config: 'houlsby[reduction_factor=8]' }, lr: 1e-3 },
  { id: 'prefix', label: 'prefix tuning', method: { kind: 'adapter', config: 'prefix_tuning[prefix_length=10,bottleneck_size=256]' }, lr: 1e-3 },
  { id: 'compacter', label: 'Compacter++', method: { kind: 'adapter', config: 'compacter++[reduction_factor=8]' }, lr: 1e-3 },
  { id: 'lora', label: 'LoRA', method: { kind: 'adapter', config: 'lora[r=8,alpha=16]' }, lr: 1e-3 },
  { id: 'head', label: 'head only (frozen model)', method: { kind: 'head-only' }, lr: 1e-3 },
];

const { values: argv } = parseArgs({
  options: {
    only: { type: 'string', default: 'spam,langid' },
    methods: { type: 'string', default: METHODS.map((m) => m.id).join(',') },
    'spam-steps': { type: 'string', default: '200' },
    'langid-steps': { type: 'string', default: '150' },
    'batch-size': { type: 'string', default: '16' },
    'max-length': { type: 'string', default: '64' },
    seed: { type: 'string', default: '42' },
    model: { type: 'string', default: EMBEDDED_MODEL_DIR },
    out: { type: 'string', default: resolve(import.meta.dirname, '../out') },
  },
});
const tasks = argv.only.split(',') as Task['name'][];
const wanted = new Set(argv.methods.split(','));
const unknown = [...wanted].filter((id) => !METHODS.some((m) => m.id === id));
if (unknown.length > 0) throw new Error(`--methods: unknown ${unknown.join(', ')} (have: ${METHODS.map((m) => m.id).join(', ')})`);
const batchSize = Number(argv['batch-size']);
const maxLength = Number(argv['max-length']);
const seed = Number(argv.seed);
const stepsOf = (t: Task['name']): number => Number(t === 'spam' ? argv['spam-steps'] : argv['langid-steps']);

const t0 = performance.now();
const backend = await initBackend();
const modelDir = resolve(argv.model);
const tokenizer = await loadTokenizer(modelDir);
const modelBytes = baseModelBytes(modelDir);
const rows: { task: string; id: string; label: string; config: string; lr: number; result: RunResult }[] = [];
console.log(`results: ${tasks.join(', ')} × ${[...wanted].join(', ')}; backend ${backend.name}; batch ${batchSize}, max length ${maxLength}, seed ${seed}`);

for (const name of tasks) {
  const task = await loadTask(name, tokenizer, maxLength);
  const steps = stepsOf(name);
  console.log(`\n${name}: train ${task.train.length}, test ${task.test.length}, ${task.labels.size} classes; ${steps} steps (${((steps * batchSize) / task.train.length).toFixed(2)} epochs)`);
  for (const m of METHODS.filter((x) => wanted.has(x.id))) {
    const result = await runMethod(modelDir, task, m.method, { lr: m.lr, batchSize, steps, warmupRatio: 0.1, seed });
    const config = m.method.kind === 'adapter' ? m.method.config : m.method.kind;
    rows.push({ task: name, id: m.id, label: m.label, config, lr: m.lr, result });
    console.log(
      `  ${m.label.padEnd(26)} acc ${(100 * result.accuracy).toFixed(2).padStart(6)} %  params ${fmtInt(result.methodParams).padStart(9)} + head ${fmtInt(result.headParams)}` +
        `  file ${fmtBytes(result.methodFileBytes)}  ${result.trainSeconds.toFixed(0)} s  [${((performance.now() - t0) / 60000).toFixed(1)} min]`,
    );
  }
}

const table = [
  '| task | method | config | lr | test accuracy | trainable params (method + head) | saved file (method) | training time |',
  '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map(({ task, label, config, lr, result: r }) => {
    const file = r.methodFileBytes > 0 ? `${fmtBytes(r.methodFileBytes)} (${((100 * r.methodFileBytes) / modelBytes).toFixed(1)} %)` : '– (head only)';
    const params = `${fmtInt(r.methodParams)} + ${fmtInt(r.headParams)}`;
    return `| ${task} | ${label} | \`${config}\` | ${lr} | ${(100 * r.accuracy).toFixed(2)} % | ${params} | ${file} | ${r.trainSeconds.toFixed(0)} s |`;
  }),
].join('\n');
const cpu = cpus();
const footer =
  `Base model \`model.safetensors\` ${fmtBytes(modelBytes)}; the head file (\`model_head.safetensors\`) adds ${fmtBytes(rows[0]?.result.headFileBytes ?? 0)} per task. ` +
  `${cpu.length} × ${cpu[0]?.model.trim() ?? 'CPU'}, ${backend.name} backend, one run at a time; total ${((performance.now() - t0) / 60000).toFixed(1)} min.`;
console.log(`\n${table}\n\n${footer}`);
mkdirSync(argv.out, { recursive: true });
writeFileSync(join(argv.out, 'results.md'), `${table}\n\n${footer}\n`);
writeFileSync(join(argv.out, 'results.json'), `${JSON.stringify({ batchSize, maxLength, seed, steps: Object.fromEntries(tasks.map((t) => [t, stepsOf(t)])), modelBytes, rows }, null, 2)}\n`);
