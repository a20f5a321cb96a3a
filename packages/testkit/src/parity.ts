import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterKitError,
  AdapterModel,
  BatchSplit,
  Fuse,
  Parallel,
  Split,
  Stack,
  type AnyAdapterMethod,
  type MethodExtension,
  type ModelInputs,
  type ModelOutputs,
  type SetupNode,
} from '@adapterkit/core';
import { loadHost } from '@adapterkit/models';
import { caseMatches, goldenInputs, readGoldenIndex, readMeta, readTensors, type GoldenCase } from './golden';
import { collectTensors, maxAbsDiffAsync } from './tensors';

/** Optional capabilities of installed packages that some case kinds need. */
export interface ParityExtras {
  /** `@adapterkit/prefix-tuning`'s eject, for the `*_ejected` outputs. */
  readonly ejectPrefixTuning?: (model: AdapterModel, name: string) => unknown;
  /** Load a fusion layer saved in the reference's layout (composition Fuse cases). */
  readonly loadAdapterFusion?: (model: AdapterModel, dir: string) => Promise<unknown>;
  /** Run a training-step case; returns the max normalised deviation per checked tensor group. */
  readonly trainStep?: (model: AdapterModel, caseDir: string, meta: Record<string, unknown>, goldenDir: string, tolerance?: ParityTolerance) => Promise<TrainStepCheck>;
  /** `@adapterkit/lora`'s PEFT import, for the `peft_*` cases (a PEFT adapter folder → an active adapter). */
  readonly importPeftAdapter?: (model: AdapterModel, dir: string, options: { name?: string; setActive?: boolean }) => Promise<string>;
  /**
   * Correct a case's saved adapter config where the reference library writes it wrongly (returns the corrected
   * `config` dict, or undefined to load the files as they are). The case is then loaded from a temporary copy.
   */
  readonly adapterConfigFixes?: ReadonlyArray<(meta: Record<string, unknown>, config: Record<string, unknown>) => Record<string, unknown> | undefined>;
  /** Load a case of a non-`adapters` kind (e.g. `peft_dora`: a PEFT adapter folder); returns the adapter's name. */
  readonly caseLoaders?: Readonly<Record<string, (model: AdapterModel, caseDir: string, meta: Record<string, unknown>) => Promise<string>>>;
}

/**
 * Tolerances that replace the golden folder's (`index.json` `tolerance`), e.g. for a GPU backend: `outputs` is the
 * atol of outputs, logits and loss; `grads` the `|a−b| ≤ atol + rtol·|b|` bound of training-step gradients.
 */
export interface ParityTolerance {
  readonly outputs?: number;
  readonly grads?: { readonly atol: number; readonly rtol: number };
}

/** Result of a training-step check: `ok` plus the worst deviations found. */
export interface TrainStepCheck {
  readonly ok: boolean;
  readonly maxAbsDiff: number;
  readonly detail: string;
}

/** Options of {@link runParity}. */
export interface ParityOptions {
  readonly goldenDir: string;
  /** Comma-separated globs over `model/case` (default: all). */
  readonly cases?: string;
  /** Methods and extensions to install in every model. */
  readonly plugins: ReadonlyArray<AnyAdapterMethod | MethodExtension>;
  readonly extras?: ParityExtras;
  /** Tolerances replacing the golden folder's (see {@link ParityTolerance}). */
  readonly tolerance?: ParityTolerance;
  /** Receives each result line as it is produced. */
  readonly log?: (line: string) => void;
  /**
   * Load adapters, heads and fusions of single-adapter and composition cases from the reference's `.bin` files: each
   * case folder is copied with every weights `.safetensors` file removed next to a `pytorch_*.bin` (reference
   * outputs stay), so the loaders find only the torch checkpoints.
   */
  readonly preferBin?: boolean;
}

/** Reference outputs, never weights. */
const NOT_WEIGHTS = new Set(['output.safetensors', 'grads.safetensors']);

/**
 * Copies a case folder to a temporary one, removing the weights `.safetensors` files of every folder that holds a
 * `pytorch_*.bin`. Returns the copy; the caller removes it.
 */
export function copyCaseWithoutSafetensors(caseDir: string): string {
  const tmp = mkdtempSync(join(tmpdir(), 'adapterkit-bin-case-'));
  cpSync(caseDir, tmp, { recursive: true });
  const prune = (dir: string): void => {
    const files = readdirSync(dir);
    const hasBin = files.some((f) => f.startsWith('pytorch_') && f.endsWith('.bin'));
    for (const f of files) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) prune(p);
      else if (hasBin && f.endsWith('.safetensors') && !NOT_WEIGHTS.has(f)) rmSync(p);
    }
  };
  prune(tmp);
  return tmp;
}

/** Result of one case. */
export interface ParityResult {
  readonly id: string;
  readonly status: 'PASS' | 'FAIL' | 'SKIP';
  readonly maxAbsDiff?: number;
  readonly reason?: string;
}

const OUTPUT_NAMES: Record<string, keyof ModelOutputs> = {
  last_hidden_state: 'lastHiddenState',
  pooler_output: 'poolerOutput',
  logits: 'logits',
};

class Skip extends Error {}

/** Error codes meaning "this repository cannot run the case" (reported as SKIP with the reason, never a crash). */
const SKIP_CODES: ReadonlySet<string> = new Set(['METHOD_NOT_INSTALLED', 'UNSUPPORTED_BLOCK', 'UNSUPPORTED_MODEL_TYPE', 'PEFT_UNSUPPORTED']);

/** The first line of an error's message, or its string form for a non-Error throw. */
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** Parse the setup strings of composition cases: `Stack[lang, task]`, `BatchSplit[a, b] batch_sizes=[1,1]`. */
export function parseGoldenSetup(text: string): SetupNode {
  const m = /^(\w+)\[([^\]]*)\](.*)$/.exec(text.trim());
  if (!m) throw new Error(`cannot parse setup '${text}'`);
  const [, type, list, rest] = m as unknown as [string, string, string, string];
  const names = list.split(',').map((s) => s.trim());
  const arg = (key: string): number[] | undefined => {
    const a = new RegExp(`${key}=\\[?([0-9, ]+)\\]?`).exec(rest);
    return a ? a[1]!.split(',').map((s) => Number(s.trim())) : undefined;
  };
  switch (type) {
    case 'Stack':
      return Stack(...names);
    case 'Fuse':
      return Fuse(...names);
    case 'Parallel':
      return Parallel(...names);
    case 'BatchSplit':
      return BatchSplit(...names, arg('batch_sizes') ?? names.map(() => 1));
    case 'Split': {
      const idx = arg('split_index') ?? arg('splits');
      if (!idx) throw new Error(`setup '${text}' lacks split_index`);
      return Split(...names, idx);
    }
    default:
      throw new Error(`unknown block '${type}' in setup '${text}'`);
  }
}

async function compareOutputs(goldenDir: string, c: GoldenCase, out: ModelOutputs, suffix = ''): Promise<number> {
  const ref = await readTensors(join(goldenDir, c.path, 'output.safetensors'));
  let worst = 0;
  try {
    for (const [refName, t] of ref) {
      if (suffix ? !refName.endsWith(suffix) : refName.endsWith('_ejected')) continue;
      const ours = out[OUTPUT_NAMES[refName.slice(0, refName.length - suffix.length)]!];
      if (!ours) throw new Error(`model produced no '${refName}'`);
      worst = Math.max(worst, await maxAbsDiffAsync(ours as tf.Tensor, t));
    }
  } finally {
    tf.dispose([...ref.values()]);
  }
  return worst;
}

/** A temporary copy of a case folder whose adapter_config.json one of `fixes` corrected, or undefined. */
function fixedCaseDir(
  caseDir: string,
  meta: Record<string, unknown>,
  fixes: ParityExtras['adapterConfigFixes'],
): { dir: string; note: string } | undefined {
  const path = join(caseDir, 'adapter_config.json');
  if (!fixes?.length || !existsSync(path)) return undefined;
  const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const config = doc['config'];
  if (typeof config !== 'object' || config === null) return undefined;
  for (const fix of fixes) {
    const corrected = fix(meta, config as Record<string, unknown>);
    if (!corrected) continue;
    const dir = mkdtempSync(join(tmpdir(), 'adapterkit-parity-'));
    cpSync(caseDir, dir, { recursive: true });
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({ ...doc, config: corrected }, null, 2));
    const added = Object.keys(corrected).filter((k) => !(k in config) || (config as Record<string, unknown>)[k] !== corrected[k]);
    return { dir, note: `adapter_config.json corrected for a reference bug: ${added.map((k) => `${k}=${JSON.stringify(corrected[k])}`).join(', ')}` };
  }
  return undefined;
}

function checkParamCount(model: AdapterModel, names: string[], expected: unknown): void {
  if (typeof expected !== 'number') return;
  // Trainable scalars only: buffers (e.g. LoReFT's orthogonal `base`) are saved but never trained.
  const got = names.reduce((n, name) => n + model.adapterParams(name).reduce((c, p) => c + (p.frozen ? 0 : p.variable.size), 0), 0);
  if (got !== expected) throw new Error(`trainable params ${got} ≠ reference ${expected}`);
}

async function runCase(opts: ParityOptions, c: GoldenCase, atol: number): Promise<ParityResult> {
  const id = `${c.model}/${c.case}`;
  const binCopy = opts.preferBin && (c.kind === 'single_adapter' || c.kind === 'composition') ? copyCaseWithoutSafetensors(join(opts.goldenDir, c.path)) : undefined;
  const caseDir = binCopy ?? join(opts.goldenDir, c.path);
  let model: AdapterModel | undefined;
  let inputs: ModelInputs | undefined;
  try {
    const meta = readMeta(opts.goldenDir, c);
    model = new AdapterModel(await loadHost(join(opts.goldenDir, 'models', c.model)), { methods: opts.plugins, warn: () => undefined });
    inputs = goldenInputs(opts.goldenDir, c.model);
    const lmLogits = Boolean(c.outputs && 'logits' in c.outputs && c.kind !== 'train_step');
    const m = model;
    const batch = inputs;
    const forward = (): ModelOutputs => m.forward(batch, { lmLogits });
    if (c.status === 'error') {
      if (meta['error_stage'] !== 'add_adapter') throw new Skip(`the reference library fails (${String(c.error ?? meta['error']).slice(0, 80)}); nothing to compare`);
      try {
        model.addAdapter(String(meta['adapter_name'] ?? c.case), String(meta['library_config_id']));
      } catch (err) {
        if (err instanceof AdapterKitError && err.code === 'METHOD_NOT_INSTALLED') throw err;
        return { id, status: 'PASS', maxAbsDiff: 0, reason: `rejected like the reference: ${(err as Error).message.split('\n')[0]}` };
      }
      return { id, status: 'FAIL', reason: `the reference rejects this config at add_adapter (${c.error}); we accepted it` };
    }
    if (c.kind === 'base') {
      const d = await compareOutputs(opts.goldenDir, c, forward());
      return { id, status: d <= atol ? 'PASS' : 'FAIL', maxAbsDiff: d };
    }
    if (c.kind === 'single_adapter') {
      const full = join(caseDir, 'adapter_full.safetensors');
      const fixed = fixedCaseDir(caseDir, meta, opts.extras?.adapterConfigFixes);
      let name: string;
      try {
        name = await model.loadAdapter(fixed?.dir ?? caseDir, { setActive: true, ...(existsSync(full) ? { weightsPath: full } : {}) });
      } finally {
        if (fixed) rmSync(fixed.dir, { recursive: true, force: true });
      }
      checkParamCount(model, [name], meta['trainable_params']);
      let d = await compareOutputs(opts.goldenDir, c, forward());
      const reload = meta['reload_max_abs_diff'];
      if (binCopy && meta['adapter_file_complete'] === false && typeof reload === 'number') {
        // The reference's own file lacks parameters (meta.saved_keys_missing): the reference reloading it is off by
        // `reload_max_abs_diff` too, so that is what loading the .bin must reproduce.
        const ok = Math.abs(d - reload) <= atol;
        return { id, status: ok ? 'PASS' : 'FAIL', maxAbsDiff: d, reason: `the reference's .bin lacks ${String(meta['saved_keys_missing'])}; its own reload is off by ${reload.toExponential(2)}` };
      }
      if (c.outputs && Object.keys(c.outputs).some((k) => k.endsWith('_ejected'))) {
        if (!opts.extras?.ejectPrefixTuning) throw new Skip('needs ejectPrefixTuning (@adapterkit/prefix-tuning)');
        await opts.extras.ejectPrefixTuning(model, name);
        model.setActiveAdapters(name);
        d = Math.max(d, await compareOutputs(opts.goldenDir, c, forward(), '_ejected'));
      }
      return { id, status: d <= atol ? 'PASS' : 'FAIL', maxAbsDiff: d, ...(fixed ? { reason: fixed.note } : {}) };
    }
    const loader = opts.extras?.caseLoaders?.[c.kind];
    if (loader) {
      const name = await loader(model, caseDir, meta);
      model.setActiveAdapters(name);
      checkParamCount(model, [name], meta['trainable_params']);
      const d = await compareOutputs(opts.goldenDir, c, forward());
      return { id, status: d <= atol ? 'PASS' : 'FAIL', maxAbsDiff: d };
    }
    if (c.kind === 'composition') {
      const setup = parseGoldenSetup(String(meta['setup']));
      for (const n of Object.keys(meta['adapters'] as Record<string, unknown>)) await model.loadAdapter(join(caseDir, 'adapters', n));
      if (existsSync(join(caseDir, 'fusion'))) {
        if (!opts.extras?.loadAdapterFusion) throw new Skip('needs AdapterFusion support');
        await opts.extras.loadAdapterFusion(model, join(caseDir, 'fusion'));
      }
      model.setActiveAdapters(setup);
      const d = await compareOutputs(opts.goldenDir, c, forward());
      return { id, status: d <= atol ? 'PASS' : 'FAIL', maxAbsDiff: d };
    }
    if (c.kind.startsWith('peft_')) {
      if (!opts.extras?.importPeftAdapter) throw new Skip('needs importPeftAdapter (@adapterkit/lora)');
      await opts.extras.importPeftAdapter(model, caseDir, { name: 'default', setActive: true });
      const d = await compareOutputs(opts.goldenDir, c, forward());
      return { id, status: d <= atol ? 'PASS' : 'FAIL', maxAbsDiff: d };
    }
    if (c.kind === 'train_step') {
      if (!opts.extras?.trainStep) throw new Skip('needs the training harness');
      const r = await opts.extras.trainStep(model, caseDir, meta, opts.goldenDir, opts.tolerance);
      return { id, status: r.ok ? 'PASS' : 'FAIL', maxAbsDiff: r.maxAbsDiff, reason: r.detail };
    }
    throw new Skip(`unknown case kind '${c.kind}'`);
  } catch (err) {
    if (err instanceof Skip) return { id, status: 'SKIP', reason: err.message };
    if (err instanceof AdapterKitError && SKIP_CODES.has(err.code)) return { id, status: 'SKIP', reason: firstLine(err) };
    const text = err instanceof Error ? err.message : String(err);
    return { id, status: 'FAIL', reason: text.split('\n').slice(0, 4).join(' | ') };
  } finally {
    if (inputs) tf.dispose(collectTensors(inputs));
    model?.dispose();
    if (binCopy) rmSync(binCopy, { recursive: true, force: true });
  }
}

/**
 * Run every matching case of a golden folder (format: fixtures/golden/README.md) and print
 * `PASS|FAIL|SKIP model/case max_abs_diff`, then `N passed, N failed, N skipped`.
 */
export async function runParity(opts: ParityOptions): Promise<{ results: ParityResult[]; passed: number; failed: number; skipped: number }> {
  const index = readGoldenIndex(opts.goldenDir);
  const atol = opts.tolerance?.outputs ?? index.tolerance.outputs.atol;
  const log = opts.log ?? ((l: string) => console.log(l));
  const results: ParityResult[] = [];
  if (opts.preferBin) log('weights: from the reference .bin files (safetensors weights removed from copies of the cases)');
  for (const c of index.cases) {
    const id = `${c.model}/${c.case}`;
    if (!caseMatches(id, opts.cases)) continue;
    const r = await runCase(opts, c, atol);
    results.push(r);
    const diff = r.maxAbsDiff !== undefined ? r.maxAbsDiff.toExponential(2) : '-';
    log(`${r.status} ${id} ${diff}${r.reason ? `  (${r.reason})` : ''}`);
  }
  const count = (s: ParityResult['status']): number => results.filter((r) => r.status === s).length;
  const summary = { results, passed: count('PASS'), failed: count('FAIL'), skipped: count('SKIP') };
  log(`${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`);
  return summary;
}
