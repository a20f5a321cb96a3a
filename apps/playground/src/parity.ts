/**
 * The parity page: runs the `bert/*` golden cases without training (the base model and every single adapter) on
 * the backend named by `?backend=`, reading the recorded outputs of the Python reference from `golden/` (served
 * next to the page by the browser tests, from `fixtures/golden`), and compares `last_hidden_state` at the golden
 * tolerance. Results land in `window.parity`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, tensorEntryToTf, urlSource, AdapterModel } from '@adapterkit/core';
import { plugins as bottleneck } from '@adapterkit/bottleneck';
import { plugins as lora } from '@adapterkit/lora';
import { plugins as compacter } from '@adapterkit/compacter';
import { plugins as prefix } from '@adapterkit/prefix-tuning';
import { plugins as invertible } from '@adapterkit/invertible';
import { plugins as union } from '@adapterkit/union';
import { loadHost } from '@adapterkit/models';
import { setupBackend, type PageBackend } from './engine';

interface CaseResult {
  readonly case: string;
  readonly maxAbsDiff?: number;
  readonly ok: boolean;
  readonly error?: string;
}
interface GoldenCase {
  case: string;
  kind: string;
  model: string;
  status: string;
  path: string;
  /** False where `save_adapter()` left parameters out: `adapter_full.safetensors` holds all of them. */
  adapter_file_complete?: boolean;
}

const out = document.getElementById('out')!;
const report: { backend?: string; device?: string; atol?: number; results: CaseResult[]; done: boolean; error?: string } = { results: [], done: false };
(window as unknown as { parity: typeof report }).parity = report;

async function run(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const backend = (params.get('backend') ?? undefined) as PageBackend | undefined;
  // every op on the backend under test (tfjs's webgpu backend would compute small tensors on the cpu otherwise)
  const info = await setupBackend(backend, location.href, { cpuForward: false });
  report.backend = info.name;
  if (info.device) report.device = info.device;
  const golden = new URL('golden/', location.href).href;
  const index = (await (await fetch(`${golden}index.json`)).json()) as { cases: GoldenCase[]; tolerance: { outputs: { atol: number } } };
  const inputs = ((await (await fetch(`${golden}inputs.json`)).json()) as Record<string, Record<string, number[][]>>)['bert']!;
  // the golden output tolerance on every backend (measured worst cases in apps/playground/README.md)
  const atol = index.tolerance.outputs.atol;
  report.atol = atol;
  const only = params.get('cases')?.split(',');
  const cases = index.cases.filter((c) => c.model === 'bert' && c.status === 'ok' && (c.kind === 'base' || c.kind === 'single_adapter') && (!only || only.includes(c.case)));
  const model = new AdapterModel(await loadHost(urlSource(`${golden}models/bert`)), { methods: [...bottleneck, ...lora, ...compacter, ...prefix, ...invertible, ...union] });
  const t = (x: number[][]): tf.Tensor2D => tf.tensor2d(x, [x.length, x[0]!.length], 'int32');
  for (const c of cases) {
    const dir = urlSource(`${golden}${c.path}`);
    let name: string | undefined;
    try {
      if (c.kind === 'single_adapter') {
        name = await model.loadAdapter(dir, c.adapter_file_complete === false ? { weightsPath: { source: dir, name: 'adapter_full.safetensors' } } : {});
        model.setActiveAdapters(name);
      } else model.setActiveAdapters(null);
      const expected = (await readSafetensors({ source: dir, name: 'output.safetensors' })).tensors.get('last_hidden_state');
      if (!expected) throw new Error('output.safetensors has no last_hidden_state');
      const diffT = tf.tidy(() => {
        const ids = { inputIds: t(inputs['input_ids']!), ...(inputs['attention_mask'] ? { attentionMask: t(inputs['attention_mask']) } : {}), ...(inputs['token_type_ids'] ? { tokenTypeIds: t(inputs['token_type_ids']) } : {}) };
        const ours = model.forward(ids).lastHiddenState;
        return tf.max(tf.abs(tf.sub(ours, tensorEntryToTf(expected))));
      });
      // read asynchronously: GPU backends download results that way (webgpu has no plain dataSync in a page)
      const diff = (await diffT.data())[0]!;
      diffT.dispose();
      report.results.push({ case: c.case, maxAbsDiff: diff, ok: diff <= atol });
    } catch (err) {
      report.results.push({ case: c.case, ok: false, error: (err as Error).message });
    } finally {
      if (name) model.deleteAdapter(name);
    }
    out.textContent = `backend ${report.backend}${report.device ? ` (${report.device})` : ''}, atol ${atol}\n${report.results.map((r) => `${r.ok ? 'ok  ' : 'FAIL'} ${r.case} ${r.maxAbsDiff?.toExponential(2) ?? r.error}`).join('\n')}`;
  }
  report.done = true;
}

run().catch((err: Error) => {
  report.error = err.message;
  report.done = true;
  out.textContent = `failed: ${err.message}`;
});
