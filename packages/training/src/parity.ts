import * as tf from '@tensorflow/tfjs-core';
import {
  hostFs,
  joinPath as join,
  readText,
  linear,
  readSafetensors,
  registerTrainingSupport,
  tensorEntryToTf,
  type AdapterModel,
  type ModelInputs,
  type NamedParam,
} from '@adapterkit/core';
import { forwardWithHeads } from './heads/forward';
import { loadHead } from './heads/io';
import { disposeHeads, getHeads } from './heads/registry';
import { crossEntropy } from './losses';

/** Result of {@link parityTrainStep} (the parity runner's `TrainStepCheck`). */
export interface TrainStepCheck {
  readonly ok: boolean;
  /** Largest |ours − reference| over outputs, loss, logits and every gradient. */
  readonly maxAbsDiff: number;
  readonly detail: string;
}

async function readTensors(path: string): Promise<Map<string, tf.Tensor>> {
  const { tensors } = await readSafetensors(path);
  return new Map([...tensors].map(([k, e]) => [k, tensorEntryToTf(e)]));
}

async function goldenBatch(goldenDir: string, model: string): Promise<{ inputs: ModelInputs; labels: tf.Tensor1D; labelsLm: tf.Tensor2D | undefined }> {
  const all = JSON.parse(await readText(join(goldenDir, 'inputs.json'))) as Record<string, unknown>;
  const m = all[model] as Record<string, number[][]>;
  const t = (x: number[][]): tf.Tensor2D => tf.tensor2d(x, [x.length, x[0]!.length], 'int32');
  return {
    inputs: {
      inputIds: t(m['input_ids']!),
      ...(m['attention_mask'] ? { attentionMask: t(m['attention_mask']) } : {}),
      ...(m['token_type_ids'] ? { tokenTypeIds: t(m['token_type_ids']) } : {}),
    },
    labels: tf.tensor1d((all['labels'] as number[] | undefined) ?? [1, 2], 'int32'),
    labelsLm: m['labels_lm'] ? t(m['labels_lm']) : undefined,
  };
}

/** The reference's causal-LM loss: logits of positions 0..S−2 against labels 1..S−1, mean over labels ≠ −100. */
function shiftedLmLoss(logits: tf.Tensor3D, labels: tf.Tensor2D): tf.Scalar {
  const [B, S, V] = logits.shape;
  const shifted = tf.reshape(tf.slice(logits, [0, 0, 0], [B, S - 1, V]), [B * (S - 1), V]) as tf.Tensor2D;
  const targets = tf.reshape(tf.slice(labels, [0, 1], [B, S - 1]), [B * (S - 1)]) as tf.Tensor1D;
  return crossEntropy(shifted, targets);
}

async function gradTolerance(goldenDir: string): Promise<{ atol: number; rtol: number }> {
  try {
    const idx = JSON.parse(await readText(join(goldenDir, 'index.json'))) as { tolerance?: { grads?: { atol: number; rtol: number } } };
    if (idx.tolerance?.grads) return idx.tolerance.grads;
  } catch {
    // fall back to the README's values
  }
  return { atol: 1e-5, rtol: 1e-3 };
}

/** A trainable tensor whose gradient is compared with a reference tensor in file layout. */
interface Checked {
  readonly refKey: string;
  readonly variable: tf.Variable;
  /** Transpose our gradient (memory `[in, out]`) into the file's `[out, in]`. */
  readonly transpose: boolean;
}

/**
 * Run one golden training-step case (fixtures/golden/README.md "Training-step cases") and compare with the
 * reference: outputs, logits and loss at `atol 1e-4`, gradients of every trainable parameter at
 * `|a−b| ≤ atol + rtol·|b|`, and the trainable-parameter count; `tolerance` replaces both bounds (a GPU backend's
 * parity run). Reads tensors asynchronously, so it runs on webgpu too.
 *
 * - `train_<method>` cases: the adapter of `meta.adapter_weights_from` is loaded through `model.loadAdapter`
 *   (a config whose method is not installed throws AdapterConfigError `METHOD_NOT_INSTALLED`, which the runner
 *   reports as SKIP); the head is a plain `Linear(32, 3)` from `head.safetensors` on `last_hidden_state[:, 0]`.
 * - LM cases (a decoder's `train_<method>` without `head.safetensors`, inputs with `labels_lm`): the loss is the
 *   reference's shifted causal-LM cross-entropy on the host's LM logits (mean over labels ≠ −100).
 * - `*_flexhead` cases: `saved_adapter/` and `saved_head/` are loaded with `loadAdapter` and {@link loadHead}, and the
 *   loss is the flex classification head's (`model(..., labels).loss`).
 *
 * The model must have the method packages installed and no adapter loaded; it is left with the adapter, its heads
 * are freed.
 */
export async function parityTrainStep(
  model: AdapterModel,
  caseDir: string,
  meta: Record<string, unknown>,
  goldenDir: string,
  tolerance?: { readonly outputs?: number; readonly grads?: { readonly atol: number; readonly rtol: number } },
): Promise<TrainStepCheck> {
  const outputAtol = tolerance?.outputs ?? 1e-4;
  await registerTrainingSupport();
  const flex = (await hostFs.exists(join(caseDir, 'saved_head')));
  const name = flex
    ? await model.loadAdapter(join(caseDir, 'saved_adapter'))
    : await model.loadAdapter(join(goldenDir, String(meta['adapter_weights_from'])));
  const { inputs, labels, labelsLm } = await goldenBatch(goldenDir, String(meta['model'] ?? 'bert'));
  // LM cases (decoders: `model(..., labels=labels_lm).loss`) have no head file: the loss is on the host's LM logits.
  const lm = !flex && !(await hostFs.exists(join(caseDir, 'head.safetensors'))) && labelsLm !== undefined;
  const headRef = lm ? new Map<string, tf.Tensor>() : await readTensors(join(caseDir, 'head.safetensors'));
  const gradRef = await readTensors(join(caseDir, 'grads.safetensors'));
  const outRef = await readTensors(join(caseDir, 'output.safetensors'));
  const own: tf.Tensor[] = [];
  try {
    if (flex) await loadHead(model, join(caseDir, 'saved_head'));
    model.trainAdapter(name);

    const checked: Checked[] = [];
    const prefix = `${model.info.baseModelPrefix}.`;
    const adapterParams = model.adapterParams(name);
    const byKey = (k: string): NamedParam | undefined => adapterParams.find((p) => p.key === k || p.aliases.includes(k));
    const headParams = getHeads(model).names().flatMap((h) => getHeads(model).require(h).list());
    const problems: string[] = [];
    for (const refKey of gradRef.keys()) {
      const key = refKey.startsWith(prefix) ? refKey.slice(prefix.length) : refKey;
      const p = byKey(key) ?? headParams.find((q) => q.key === key);
      if (!p) problems.push(`reference grad '${refKey}' has no trainable parameter here`);
      else checked.push({ refKey, variable: p.variable, transpose: p.layout === 'linear' });
    }
    const trainable = [...adapterParams, ...headParams].filter((p) => p.variable.trainable);
    const extra = trainable.filter((p) => !checked.some((c) => c.variable === p.variable));
    for (const p of extra) problems.push(`trainable parameter '${p.key}' has no reference grad`);
    const numTrainable = trainable.reduce((n, p) => n + p.variable.size, 0);
    if (typeof meta['trainable_params'] === 'number' && numTrainable !== meta['trainable_params']) {
      problems.push(`trainable params ${numTrainable} ≠ reference ${meta['trainable_params']}`);
    }

    // The plain head of the non-flex cases: Linear(32, 3), weight [3, 32] in the file.
    let plainW: tf.Variable | undefined;
    let plainB: tf.Variable | undefined;
    if (!flex && !lm) {
      plainW = tf.tidy(() => tf.variable(tf.transpose(headRef.get('weight')!), true));
      plainB = tf.tidy(() => tf.variable(tf.clone(headRef.get('bias')!), true));
      own.push(plainW, plainB);
    }
    const forward = (): { hidden: tf.Tensor; logits: tf.Tensor; loss: tf.Scalar } => {
      if (flex) {
        const r = forwardWithHeads(model, inputs, { labels });
        return { hidden: r.outputs.lastHiddenState, logits: r.logits, loss: r.loss! };
      }
      if (lm) {
        const out = model.forward(inputs, { lmLogits: true });
        return { hidden: out.lastHiddenState, logits: out.logits!, loss: shiftedLmLoss(out.logits!, labelsLm!) };
      }
      const out = model.forward(inputs);
      const h = out.lastHiddenState;
      const first = tf.reshape(tf.slice(h, [0, 0, 0], [h.shape[0], 1, h.shape[2]]), [h.shape[0], h.shape[2]]) as tf.Tensor2D;
      const logits = linear(first, plainW as unknown as tf.Tensor2D, plainB as unknown as tf.Tensor1D);
      return { hidden: h, logits, loss: crossEntropy(logits, labels) };
    };

    const vars = [...checked.map((c) => c.variable), ...(plainW ? [plainW, plainB!] : [])];
    let worst = 0;
    let worstRatio = 0;
    let worstAt = '';
    // async reads: a GPU backend (webgpu) cannot read tensors synchronously
    const compare = async (label: string, ours: tf.Tensor, ref: tf.Tensor, tol?: { atol: number; rtol: number }): Promise<void> => {
      if (ours.shape.join() !== ref.shape.join()) {
        problems.push(`${label}: shape [${ours.shape.join(', ')}] vs reference [${ref.shape.join(', ')}]`);
        return;
      }
      const stats = tf.tidy(() => {
        const diff = tf.abs(tf.sub(ours, ref));
        const bound = tol ? tf.add(tol.atol, tf.mul(tol.rtol, tf.abs(ref))) : tf.fill(ref.shape, outputAtol);
        return tf.stack([tf.max(diff), tf.max(tf.div(diff, bound))]);
      });
      const [d, ratio] = (await stats.data()) as Float32Array;
      stats.dispose();
      worst = Math.max(worst, d!);
      if (ratio! > worstRatio) {
        worstRatio = ratio!;
        worstAt = label;
      }
      if (ratio! > 1) problems.push(`${label}: max |diff| ${d!.toExponential(2)} exceeds the tolerance`);
    };

    {
      const fwd = tf.tidy(() => {
        const f = forward();
        return { hidden: f.hidden, logits: f.logits, loss: tf.reshape(f.loss, [1]) };
      });
      try {
        await compare('last_hidden_state', fwd.hidden, outRef.get('last_hidden_state')!);
        await compare('logits', fwd.logits, outRef.get('logits')!);
        await compare('loss', fwd.loss, outRef.get('loss')!);
      } finally {
        tf.dispose([fwd.hidden, fwd.logits, fwd.loss]);
      }
    }
    const tol = tolerance?.grads ?? (await gradTolerance(goldenDir));
    const { value, grads } = tf.variableGrads(() => forward().loss, vars);
    try {
      for (const c of checked) {
        const g = grads[c.variable.name];
        if (!g) {
          problems.push(`${c.refKey}: no gradient here`);
          continue;
        }
        const ours = c.transpose ? tf.transpose(g) : g;
        await compare(`grad ${c.refKey}`, ours, gradRef.get(c.refKey)!, tol);
        if (ours !== g) ours.dispose();
      }
      if (plainW) {
        const gw = tf.transpose(grads[plainW.name]!);
        await compare('grad head.weight', gw, headRef.get('grad_weight')!, tol);
        gw.dispose();
        await compare('grad head.bias', grads[plainB!.name]!, headRef.get('grad_bias')!, tol);
      }
    } finally {
      tf.dispose([value, ...Object.values(grads)]);
    }
    const detail =
      problems.length > 0
        ? problems.slice(0, 4).join(' | ')
        : `${checked.length + (plainW ? 2 : 0)} grads, ${numTrainable} trainable params; worst tolerance use ${(100 * worstRatio).toFixed(1)}% at ${worstAt}`;
    return { ok: problems.length === 0, maxAbsDiff: worst, detail };
  } finally {
    tf.dispose([...headRef.values(), ...gradRef.values(), ...outRef.values(), ...own, inputs.inputIds, labels, ...(labelsLm ? [labelsLm] : [])]);
    tf.dispose([inputs.attentionMask, inputs.tokenTypeIds].filter((t): t is tf.Tensor2D => t !== undefined));
    disposeHeads(model);
  }
}
