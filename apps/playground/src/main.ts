/**
 * The playground page: backend choice, model load, adapter list (activate, stack, hot-swap with timings), classify,
 * training in a Web Worker (progress, loss curve, held-out accuracy) and download as an AdapterHub zip.
 */
import { Stack, type AdapterModel, type SourceInput } from '@adapterkit/core';
import { getHeads, headCompanion } from '@adapterkit/training';
import type { Tokenizer } from '@adapterkit/data';
import { describeBackend } from '@adapterkit/backends';
import { BACKENDS, classify, loadBase, setupBackend, type PageBackend, type Prediction, type TrainProgress } from './engine';
import type { WorkerRequest } from './worker';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const MODEL_URL = new URL('model/', location.href).href;
/** Adapters shipped with the page as static AdapterHub folders (adapter + head) under `examples/`. */
const EXAMPLES: ReadonlyArray<{ readonly name: string; readonly path: string; readonly title: string }> = [
  {
    name: 'spam',
    path: 'examples/spam-pfeiffer/',
    title: 'spam / ham e-mails: Pfeiffer adapter (reduction factor 2) + classification head, trained by `pnpm start` on the embedded SpamAssassin data',
  },
];
const SAMPLE = [
  'spam\tWIN a FREE cruise now, click this link to claim your prize',
  'spam\tCheap meds online, no prescription needed, order today',
  'spam\tYou have been selected for a cash reward, reply with your bank details',
  'spam\tLimited offer!!! Earn $5000 a week working from home',
  'spam\tClaim your free gift card now before it expires',
  'spam\tHot singles in your area want to meet you, click here',
  'spam\tURGENT: your account will be closed, verify your password at this link',
  'spam\tBuy one get ten free, best prices on watches and bags',
  'ham\tAre we still meeting for lunch tomorrow at noon?',
  'ham\tHere are the notes from today\'s project meeting',
  'ham\tCan you review my pull request when you have a minute?',
  'ham\tThe train was late again, I will be there by six',
  'ham\tHappy birthday! Hope you have a great day with the family',
  'ham\tPlease find attached the invoice for last month',
  'ham\tThanks for the help with the report yesterday',
  'ham\tDinner at our place on Saturday? Bring the kids',
].join('\n');

/** What the page shows, readable by the browser tests (`window.playground`). */
export interface PageState {
  backend?: string;
  /** What `initBackend` chose: package, device, notes, and the backends it skipped with the reasons. */
  backendInfo?: { package: string; device?: string; threads?: number; notes: string[]; skipped: Array<{ name: string; reason: string }> };
  loadMs?: number;
  firstPredictionMs?: number;
  adapters: string[];
  active?: string;
  /** The last activation: `setActiveAdapters` alone (the swap), and with the first prediction after it. */
  lastSwapMs?: number;
  lastSwapPredictionMs?: number;
  prediction?: Prediction;
  training?: { step: number; totalSteps: number; losses: number[]; accuracy?: number; stepMs: number[]; done: boolean; error?: string };
  downloadBytes?: number;
}

const state: PageState = { adapters: [] };
(window as unknown as { playground: { state: PageState; zip?: Uint8Array } }).playground = { state };
let model: AdapterModel | undefined;
let tokenizer: Tokenizer | undefined;
let startedAt = 0;

function renderAdapters(): void {
  if (!model) return;
  const m = model;
  state.adapters = m.adapterNames();
  const body = $('adapters').querySelector('tbody')!;
  body.innerHTML = '';
  for (const name of state.adapters) {
    const entry = m.requireAdapter(name);
    const count = entry.params.count();
    const tr = document.createElement('tr');
    if (state.active === name) tr.className = 'active';
    const method = entry.members.map((x) => x.method.name).join('+');
    const head = getHeads(m).has(name) ? 'yes' : 'no';
    tr.innerHTML = `<td>${name}</td><td>${method}</td><td>${count.toLocaleString('en-US')}</td><td>${(count * 4 / 1024).toFixed(1)} KiB</td><td>${head}</td><td><button data-activate="${name}">activate</button></td>`;
    body.appendChild(tr);
  }
  body.querySelectorAll<HTMLButtonElement>('button[data-activate]').forEach((b) => (b.onclick = () => void activate(b.dataset['activate']!).catch(showError)));
}

async function activate(setup: string | string[]): Promise<void> {
  if (!model) return;
  const t0 = performance.now();
  model.setActiveAdapters(Array.isArray(setup) ? Stack(...setup) : setup);
  const swapMs = performance.now() - t0;
  const head = Array.isArray(setup) ? setup[setup.length - 1]! : setup;
  state.active = head;
  state.lastSwapMs = swapMs;
  state.lastSwapPredictionMs = undefined;
  if (getHeads(model).has(head)) {
    // a later swap while this prediction was in flight reports its own times
    if (!(await runClassify())) return;
    state.lastSwapPredictionMs = performance.now() - t0;
  }
  $('active').textContent =
    `active: ${Array.isArray(setup) ? `Stack(${setup.join(', ')})` : setup} — swap ${swapMs.toFixed(1)} ms` +
    (state.lastSwapPredictionMs !== undefined ? `, swap + first prediction ${state.lastSwapPredictionMs.toFixed(1)} ms` : '');
  renderAdapters();
}

function showError(err: Error): void {
  $('active').textContent = err.message;
}

/** Numbers each classification: a result that comes back after a newer one was started is stale and dropped. */
let classifications = 0;

/** Classifies the text box with the active adapter; false when there was nothing to show or a newer one superseded it. */
async function runClassify(): Promise<boolean> {
  if (!model || !tokenizer || !state.active) return false;
  const seq = ++classifications;
  if (!getHeads(model).has(state.active)) {
    $('prediction').textContent = `adapter '${state.active}' has no prediction head to classify with`;
    return false;
  }
  const t0 = performance.now();
  const p = await classify(model, tokenizer, ($('text') as HTMLTextAreaElement).value, state.active);
  // GPU results arrive asynchronously: a swap (or another click) while this one was in flight supersedes it
  if (seq !== classifications) return false;
  state.prediction = p;
  if (state.firstPredictionMs === undefined) state.firstPredictionMs = performance.now() - startedAt;
  $('prediction').textContent = `${p.label} (p = ${p.probability.toFixed(3)}) in ${(performance.now() - t0).toFixed(1)} ms\n${p.labels.map((l, i) => `  ${l}: ${p.probabilities[i]!.toFixed(3)}`).join('\n')}`;
  return true;
}

async function loadAdapterFrom(source: SourceInput, as?: string): Promise<string> {
  if (!model) throw new Error('load the model first');
  const loadAs = as ?? ($('load-as') as HTMLInputElement).value.trim();
  const name = await model.loadAdapter(source, { companions: [headCompanion], overwriteOk: true, ...(loadAs ? { loadAs } : {}) });
  await activate(name);
  return name;
}

async function start(): Promise<void> {
  startedAt = performance.now();
  const preferred = (($('backend') as HTMLSelectElement).value || undefined) as PageBackend | undefined;
  const info = await setupBackend(preferred, location.href);
  state.backend = info.name;
  state.backendInfo = {
    package: info.package,
    ...(info.device ? { device: info.device } : {}),
    ...(info.threads !== undefined ? { threads: info.threads } : {}),
    notes: [...info.notes],
    skipped: info.skipped.map((s) => ({ ...s })),
  };
  $('backend-info').textContent =
    `initBackend(${preferred ? `'${preferred}'` : ''}) chose ${describeBackend(info)}${preferred ? ' (asked for)' : ` (the first that started of ${BACKENDS.join(', ')})`}` +
    info.skipped.map((s) => `\n  skipped ${s.name}: ${s.reason}`).join('') +
    info.notes.map((n) => `\n  note: ${n}`).join('');
  ({ model, tokenizer } = await loadBase(MODEL_URL));
  state.loadMs = performance.now() - startedAt;
  $('load-info').textContent = `model: ${model.info.modelType}, hidden ${model.info.hiddenSize}, ${model.info.numLayers} layers; loaded in ${state.loadMs.toFixed(0)} ms`;
  renderAdapters();
}

function drawLoss(losses: number[]): void {
  const c = $('loss') as HTMLCanvasElement;
  const g = c.getContext('2d')!;
  g.clearRect(0, 0, c.width, c.height);
  if (losses.length < 2) return;
  const max = Math.max(...losses), min = Math.min(...losses, 0);
  g.strokeStyle = '#c33';
  g.lineWidth = 2;
  g.beginPath();
  losses.forEach((l, i) => {
    const x = (i / (losses.length - 1)) * (c.width - 20) + 10;
    const y = c.height - 10 - ((l - min) / (max - min || 1)) * (c.height - 20);
    if (i === 0) g.moveTo(x, y);
    else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = '#333';
  g.fillText(`loss ${losses[losses.length - 1]!.toFixed(3)} (max ${max.toFixed(2)})`, 12, 14);
}

function startTraining(): void {
  const request = {
    name: ($('train-name') as HTMLInputElement).value.trim(),
    config: ($('train-config') as HTMLInputElement).value.trim(),
    lines: ($('train-lines') as HTMLTextAreaElement).value,
    steps: Number(($('train-steps') as HTMLInputElement).value),
    lr: Number(($('train-lr') as HTMLInputElement).value),
    heldOut: 0.25,
    seed: 1,
  };
  const training = (state.training = { step: 0, totalSteps: request.steps, losses: [] as number[], stepMs: [] as number[], done: false } as NonNullable<PageState['training']>);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  const msg: WorkerRequest = { type: 'train', backend: (state.backend as PageBackend | undefined) ?? undefined, base: location.href, modelUrl: MODEL_URL, request };
  worker.onmessage = async (ev: MessageEvent<TrainProgress | { type: 'done'; zip: Uint8Array } | { type: 'error'; message: string } | { type: 'backend'; name: string }>) => {
    const m = ev.data;
    if (m.type === 'step') {
      training.step = m.step;
      training.totalSteps = m.totalSteps;
      training.losses.push(m.loss);
      training.stepMs.push(m.stepMs);
      ($('train-progress') as HTMLProgressElement).value = m.step / m.totalSteps;
      drawLoss(training.losses);
      $('train-info').textContent = `step ${m.step}/${m.totalSteps}, loss ${m.loss.toFixed(4)}, ${m.stepMs.toFixed(0)} ms/step${training.accuracy !== undefined ? `, held-out accuracy ${training.accuracy.toFixed(3)}` : ''}`;
    } else if (m.type === 'eval') {
      training.accuracy = m.accuracy;
    } else if (m.type === 'done') {
      training.done = true;
      worker.terminate();
      (window as unknown as { playground: { zip?: Uint8Array } }).playground.zip = m.zip;
      state.downloadBytes = m.zip.length;
      const a = $('download') as HTMLAnchorElement;
      a.href = URL.createObjectURL(new Blob([m.zip as BlobPart], { type: 'application/zip' }));
      a.download = `${request.name}.zip`;
      a.hidden = false;
      a.textContent = `Download ${request.name}.zip (${(m.zip.length / 1024).toFixed(1)} KiB, AdapterHub layout)`;
      $('train-info').textContent += `\ndone: held-out accuracy ${training.accuracy?.toFixed(3) ?? 'n/a'}`;
      await loadAdapterFrom(new Blob([m.zip as BlobPart]));
    } else if (m.type === 'error') {
      training.error = m.message;
      $('train-info').textContent = `training failed: ${m.message}`;
      worker.terminate();
    }
  };
  worker.postMessage(msg);
}

interface DropItem extends DataTransferItem {
  getAsFileSystemHandle?: () => Promise<{ kind: string } | null>;
}

($('train-lines') as HTMLTextAreaElement).value = SAMPLE;
for (const example of EXAMPLES) {
  const b = document.createElement('button');
  b.dataset['example'] = example.name;
  b.title = example.title;
  b.textContent = `Load example: ${example.name}`;
  b.onclick = () => void loadAdapterFrom(new URL(example.path, location.href).href, example.name).catch(showError);
  $('examples').appendChild(b);
  $('examples').appendChild(document.createTextNode(` ${example.title} `));
}
// WebGPU is offered where the browser has it (Chromium: a secure context; headless needs --enable-unsafe-webgpu)
if (!(navigator as { gpu?: unknown }).gpu) {
  const webgpu = document.querySelector<HTMLOptionElement>('#backend option[value="webgpu"]')!;
  webgpu.disabled = true;
  webgpu.textContent = 'webgpu (not in this browser)';
}
$('start').onclick = () => void start().catch((e: Error) => ($('load-info').textContent = `failed: ${e.message}`));
$('classify').onclick = () => void runClassify().catch(showError);
$('stack-btn').onclick = () => void activate(($('stack') as HTMLInputElement).value.split(',').map((s) => s.trim()).filter(Boolean)).catch(showError);
$('train').onclick = () => startTraining();
($('pick') as HTMLInputElement).onchange = (e) => void loadAdapterFrom([...((e.target as HTMLInputElement).files ?? [])]).catch((err: Error) => ($('active').textContent = err.message));
($('pick-zip') as HTMLInputElement).onchange = (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void loadAdapterFrom(f).catch((err: Error) => ($('active').textContent = err.message));
};
$('drop').ondragover = (e) => e.preventDefault();
$('drop').ondrop = async (e) => {
  e.preventDefault();
  const item = e.dataTransfer?.items[0] as DropItem | undefined;
  try {
    const handle = item?.getAsFileSystemHandle ? await item.getAsFileSystemHandle() : null;
    if (handle && handle.kind === 'directory') await loadAdapterFrom(handle as unknown as SourceInput);
    else if (e.dataTransfer?.files[0]) await loadAdapterFrom(e.dataTransfer.files[0]);
  } catch (err) {
    $('active').textContent = (err as Error).message;
  }
};
