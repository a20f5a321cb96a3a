import { mkdtempSync, readdirSync, readFileSync, rmSync, copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Parallel, BatchSplit, linear, parseSafetensors, readSafetensors, registerTrainingSupport, tensorEntryToTf, type AdapterModel } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addCausalLmHead,
  addClassificationHead,
  addMaskedLmHead,
  addMultipleChoiceHead,
  addTaggingHead,
  disposeHeads,
  forwardWithHeads,
  getHeads,
  headCompanion,
  loadAdapterWithHead,
  loadHead,
  saveAdapterWithHead,
  saveHead,
  serializeHead,
  crossEntropy,
  headConfigFromJson,
} from './index';
import { caseDir, goldenModel, maxAbsDiff, scaleMethod, shiftMethod, tinyModel, tokenBatch } from './test-helpers';

let tmp: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await registerTrainingSupport();
  tmp = mkdtempSync(join(tmpdir(), 'training-heads-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function fileKeys(bytes: Uint8Array): Record<string, number[]> {
  const { tensors } = parseSafetensors(bytes, 'mem');
  return Object.fromEntries([...tensors].map(([k, t]) => [k, t.shape]));
}

function dispose(model: AdapterModel): void {
  disposeHeads(model);
  model.dispose();
}

describe('head layouts (reference module numbering)', () => {
  it('classification, layers=2, dropout 0.1: [Dropout, Linear, tanh, Dropout, Linear] → heads.<n>.1 / .4', async () => {
    const model = tinyModel();
    addClassificationHead(model, 'cls', { numLabels: 3 });
    const files = await serializeHead(model, 'cls');
    expect(fileKeys(files['model_head.safetensors'] as Uint8Array)).toEqual({
      'heads.cls.1.weight': [16, 16],
      'heads.cls.1.bias': [16],
      'heads.cls.4.weight': [3, 16],
      'heads.cls.4.bias': [3],
    });
    expect(getHeads(model).require('cls').modules.map((m) => m.kind)).toEqual(['dropout', 'linear', 'activation', 'dropout', 'linear']);
    dispose(model);
  });

  it('numbers modules without Dropout when the rate is 0 and without activation when none', () => {
    const model = tinyModel();
    const a = addClassificationHead(model, 'a', { layers: 3, dropoutProb: 0 });
    expect(a.list().map((p) => p.key)).toEqual(['heads.a.0.weight', 'heads.a.0.bias', 'heads.a.2.weight', 'heads.a.2.bias', 'heads.a.4.weight', 'heads.a.4.bias']);
    const b = addClassificationHead(model, 'b', { layers: 2, activationFunction: null, bias: false });
    expect(b.list().map((p) => p.key)).toEqual(['heads.b.1.weight', 'heads.b.1.bias', 'heads.b.3.weight']);
    const t = addTaggingHead(model, 't', { numLabels: 5 });
    expect(t.list().map((p) => p.key)).toEqual(['heads.t.1.weight', 'heads.t.1.bias']);
    dispose(model);
  });

  it('masked LM: 0 Linear, 1 gelu, 2 LayerNorm, 3 tied Linear with its own bias', async () => {
    const model = tinyModel();
    const m = addMaskedLmHead(model, 'mlm');
    expect(m.modules.map((x) => x.kind)).toEqual(['linear', 'activation', 'layerNorm', 'tied']);
    expect(m.list().map((p) => p.key)).toEqual(['heads.mlm.0.weight', 'heads.mlm.0.bias', 'heads.mlm.2.weight', 'heads.mlm.2.bias', 'heads.mlm.3.bias']);
    const files = await serializeHead(model, 'mlm');
    expect(fileKeys(files['model_head.safetensors'] as Uint8Array)['heads.mlm.3.weight']).toEqual([50, 16]);
    const small = await serializeHead(model, 'mlm', { tiedWeights: false });
    expect(fileKeys(small['model_head.safetensors'] as Uint8Array)['heads.mlm.3.weight']).toBeUndefined();
    dispose(model);
  });

  it('causal LM defaults follow the host: BERT Linear/gelu/LN/tied+bias, GPT-2 the bare tied projection', async () => {
    const bert = tinyModel();
    expect(addCausalLmHead(bert, 'lm').modules.map((x) => x.kind)).toEqual(['linear', 'activation', 'layerNorm', 'tied']);
    dispose(bert);
    const gpt2 = await goldenModel('gpt2');
    const head = addCausalLmHead(gpt2, 'lm');
    expect(head.modules.map((x) => x.kind)).toEqual(['tied']);
    expect(head.list()).toHaveLength(0);
    dispose(gpt2);
  });

  it('initialises Linear weights N(0, 0.02²), biases 0, LayerNorm 1/0, reproducibly for a seed', () => {
    const model = tinyModel(0, { hidden_size: 64, num_attention_heads: 4 });
    const h1 = addMaskedLmHead(model, 'a', { seed: 7 });
    const h2 = addMaskedLmHead(model, 'b', { seed: 7 });
    const w = h1.list()[0]!.variable;
    const values = Array.from(w.dataSync() as Float32Array);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect(maxAbsDiff(w, h2.list()[0]!.variable)).toBe(0);
    expect([...h1.list()[1]!.variable.dataSync()].every((v) => v === 0)).toBe(true);
    expect([...h1.list()[2]!.variable.dataSync()].every((v) => v === 1)).toBe(true);
    expect(h1.list().every((p) => p.variable.trainable)).toBe(true);
    dispose(model);
  });
});

describe('golden flex head (bert/train_pfeiffer_flexhead)', () => {
  const dir = caseDir('bert/train_pfeiffer_flexhead');

  it('writes head_config.json byte-identical to the reference', async () => {
    const model = await goldenModel('bert');
    addClassificationHead(model, 'cls', { numLabels: 3 });
    const files = await serializeHead(model, 'cls');
    expect(files['head_config.json']).toBe(readFileSync(join(dir, 'saved_head', 'head_config.json'), 'utf8'));
    dispose(model);
  });

  it('loads the reference head and reproduces its logits and loss', async () => {
    const model = await goldenModel('bert');
    const ref = (await readSafetensors(join(dir, 'output.safetensors'))).tensors;
    const name = await model.loadAdapter(join(dir, 'saved_adapter'), { setActive: true });
    expect(await loadHead(model, join(dir, 'saved_head'))).toBe('cls');
    expect(getHeads(model).activeHead).toEqual({ kind: 'single', names: ['cls'] });
    expect(name).toBe('pfeiffer');
    const ids = JSON.parse(readFileSync(join(dir, '../../../inputs.json'), 'utf8')) as { bert: Record<string, number[][]>; labels: number[] };
    const inputs = {
      inputIds: tf.tensor2d(ids.bert['input_ids']!, undefined, 'int32'),
      attentionMask: tf.tensor2d(ids.bert['attention_mask']!, undefined, 'int32'),
      tokenTypeIds: tf.tensor2d(ids.bert['token_type_ids']!, undefined, 'int32'),
    };
    const labels = tf.tensor1d(ids.labels, 'int32');
    const before = tf.memory().numTensors;
    const r = forwardWithHeads(model, inputs, { labels });
    const refLogits = tensorEntryToTf(ref.get('logits')!);
    const refLoss = tensorEntryToTf(ref.get('loss')!);
    expect(maxAbsDiff(r.logits, refLogits)).toBeLessThan(1e-4);
    expect(tf.tidy(() => maxAbsDiff(tf.reshape(r.loss!, [1]), refLoss))).toBeLessThan(1e-4);
    tf.dispose([r.outputs.lastHiddenState, r.outputs.poolerOutput!, r.logits, r.loss!, refLogits, refLoss]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([inputs.inputIds, inputs.attentionMask, inputs.tokenTypeIds, labels]);
    dispose(model);
  });
});

describe('save / load', () => {
  it('round-trips a head (model_head.safetensors, also read as head.safetensors) and renames with loadAs', async () => {
    const a = tinyModel(1);
    addClassificationHead(a, 'sent', { numLabels: 4, id2label: ['a', 'b', 'c', 'd'] });
    await saveHead(a, join(tmp, 'h1'), 'sent');
    const cfg = JSON.parse(readFileSync(join(tmp, 'h1', 'head_config.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(cfg.config['label2id']).toEqual({ a: 0, b: 1, c: 2, d: 3 });
    const b = tinyModel(1);
    expect(await loadHead(b, join(tmp, 'h1'), { loadAs: 'other' })).toBe('other');
    const inputs = tokenBatch(2, 6);
    const ra = forwardWithHeads(a, inputs);
    const rb = forwardWithHeads(b, inputs);
    expect(maxAbsDiff(ra.logits, rb.logits)).toBe(0);
    mkdirSync(join(tmp, 'h2'));
    copyFileSync(join(tmp, 'h1', 'head_config.json'), join(tmp, 'h2', 'head_config.json'));
    copyFileSync(join(tmp, 'h1', 'model_head.safetensors'), join(tmp, 'h2', 'head.safetensors'));
    expect(await loadHead(b, join(tmp, 'h2'))).toBe('sent');
    tf.dispose([ra, rb, inputs] as never);
    dispose(a);
    dispose(b);
  });

  it('rejects mismatched weights, model types and static heads without touching the registry', async () => {
    const a = tinyModel();
    addClassificationHead(a, 'x', { numLabels: 2 });
    await saveHead(a, join(tmp, 'h3'), 'x');
    const b = tinyModel();
    addClassificationHead(b, 'x', { numLabels: 3, overwriteOk: true });
    const before = tf.memory().numTensors;
    // a 3-label config against 2-label weights
    const cfgPath = join(tmp, 'h3', 'head_config.json');
    const text = readFileSync(cfgPath, 'utf8');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(cfgPath, text.replace('"num_labels": 2', '"num_labels": 3'));
    await expect(loadHead(b, join(tmp, 'h3'), { loadAs: 'y' })).rejects.toMatchObject({ code: 'ADAPTER_WEIGHTS_MISMATCH' });
    writeFileSync(cfgPath, text.replace('"model_type": "bert"', '"model_type": "gpt2"'));
    await expect(loadHead(b, join(tmp, 'h3'), { loadAs: 'y' })).rejects.toMatchObject({ code: 'HEAD_MODEL_MISMATCH' });
    writeFileSync(cfgPath, text.replace(/"config": \{[^}]*\{[^}]*\}[^}]*\}/, '"config": null'));
    await expect(loadHead(b, join(tmp, 'h3'), { loadAs: 'y' })).rejects.toMatchObject({ code: 'UNSUPPORTED_HEAD' });
    expect(getHeads(b).names()).toEqual(['x']);
    expect(tf.memory().numTensors).toBe(before);
    dispose(a);
    dispose(b);
  });

  it('saves and loads an adapter together with its same-named head', async () => {
    const a = tinyModel(2);
    a.addAdapter('task', 'pfeiffer');
    addClassificationHead(a, 'task', { numLabels: 2 });
    await saveAdapterWithHead(a, join(tmp, 'task'), 'task');
    for (const f of ['adapter_config.json', 'adapter.safetensors', 'head_config.json', 'model_head.safetensors']) expect(existsSync(join(tmp, 'task', f))).toBe(true);
    const b = tinyModel(2);
    expect(await loadAdapterWithHead(b, join(tmp, 'task'), { loadAs: 'renamed', setActive: true })).toBe('renamed');
    expect(getHeads(b).activeHead).toEqual({ kind: 'single', names: ['renamed'] });
    a.setActiveAdapters('task');
    const inputs = tokenBatch(2, 5);
    const ra = forwardWithHeads(a, inputs);
    const rb = forwardWithHeads(b, inputs);
    expect(maxAbsDiff(ra.logits, rb.logits)).toBe(0);
    tf.dispose([ra, rb, inputs] as never);
    dispose(a);
    dispose(b);
  });

  it("model.saveAdapter/loadAdapter with { companions: [headCompanion] } (the reference's with_head) save and restore the head", async () => {
    const a = tinyModel(4);
    a.addAdapter('task', 'pfeiffer');
    a.addAdapter('bare', 'pfeiffer');
    addClassificationHead(a, 'task', { numLabels: 3 });
    const dir = join(tmp, 'with-head');
    await a.saveAdapter(dir, 'task', { companions: [headCompanion] });
    expect(readdirSync(dir).sort()).toEqual(['adapter.safetensors', 'adapter_config.json', 'head_config.json', 'model_head.safetensors']);
    await a.saveAdapter(join(tmp, 'no-head'), 'bare', { companions: [headCompanion] }); // no head of that name: the adapter alone
    await a.saveAdapter(join(tmp, 'not-asked'), 'task');
    for (const d of ['no-head', 'not-asked']) expect(readdirSync(join(tmp, d)).sort(), d).toEqual(['adapter.safetensors', 'adapter_config.json']);

    const b = tinyModel(4);
    const before = tf.memory().numTensors;
    expect(await b.loadAdapter(dir, { companions: [headCompanion], setActive: true })).toBe('task');
    expect(getHeads(b).names()).toEqual(['task']);
    a.setActiveAdapters('task');
    const inputs = tokenBatch(2, 5);
    const ra = forwardWithHeads(a, inputs);
    const rb = forwardWithHeads(b, inputs);
    expect(ra.logits.shape).toEqual([2, 3]);
    expect(maxAbsDiff(ra.logits, rb.logits)).toBe(0);
    tf.dispose([ra, rb, inputs] as never);

    // a head that cannot load leaves neither the head nor the adapter behind
    const broken = join(tmp, 'broken-head');
    mkdirSync(broken, { recursive: true });
    for (const f of ['adapter_config.json', 'adapter.safetensors', 'head_config.json']) copyFileSync(join(dir, f), join(broken, f));
    copyFileSync(join(dir, 'adapter.safetensors'), join(broken, 'model_head.safetensors'));
    const c = tinyModel(4);
    const empty = tf.memory().numTensors;
    await expect(c.loadAdapter(broken, { companions: [headCompanion] })).rejects.toThrow(/model_head\.safetensors/);
    expect(c.adapterNames()).toEqual([]);
    expect(getHeads(c).names()).toEqual([]);
    expect(tf.memory().numTensors).toBe(empty);
    expect(tf.memory().numTensors - before).toBeGreaterThan(0); // b's adapter and head are still there
    dispose(a);
    dispose(b);
    dispose(c);
  });

  it('loads an LM head ignoring the tied weight it carries', async () => {
    const a = tinyModel(3);
    addMaskedLmHead(a, 'mlm');
    await saveHead(a, join(tmp, 'mlm'), 'mlm');
    const b = tinyModel(3);
    await loadHead(b, join(tmp, 'mlm'));
    const inputs = tokenBatch(1, 4);
    const ra = forwardWithHeads(a, inputs);
    const rb = forwardWithHeads(b, inputs);
    expect(ra.logits.shape).toEqual([1, 4, 50]);
    expect(maxAbsDiff(ra.logits, rb.logits)).toBe(0);
    tf.dispose([ra, rb, inputs] as never);
    dispose(a);
    dispose(b);
  });
});

describe('active head follows the adapter setup', () => {
  it('activates the head named like the last adapter of a new setup, keeps explicit choices otherwise', () => {
    const model = tinyModel();
    model.addAdapter('a', 'pfeiffer');
    model.addAdapter('b', 'pfeiffer');
    const heads = getHeads(model);
    addClassificationHead(model, 'a');
    addClassificationHead(model, 'other');
    expect(heads.activeHead?.names).toEqual(['other']);
    model.setActiveAdapters('a');
    expect(heads.activeHead?.names).toEqual(['a']);
    model.setActiveAdapters('b');
    expect(heads.activeHead?.names).toEqual(['a']);
    heads.setActiveHead('other');
    expect(heads.activeHead?.names).toEqual(['other']);
    model.trainAdapter(['b', 'a']);
    expect(heads.activeHead?.names).toEqual(['a']);
    heads.delete('a');
    expect(heads.activeHead).toBeUndefined();
    dispose(model);
  });

  it('runs one head per Parallel branch and per BatchSplit slice, summing their losses', () => {
    const model = tinyModel(4, {}, [scaleMethod]);
    model.addAdapter('a', { method: 'test-scale' } as never);
    model.addAdapter('b', { method: 'test-scale', init: 0.5 } as never);
    addClassificationHead(model, 'a', { numLabels: 2 });
    addClassificationHead(model, 'b', { numLabels: 3 });
    const inputs = tokenBatch(2, 5);
    const labels = tf.tensor1d([1, 0], 'int32');
    const single = (name: string): tf.Tensor => {
      model.setActiveAdapters(name);
      return forwardWithHeads(model, inputs).logits;
    };
    const la = single('a');
    const lb = single('b');
    model.setActiveAdapters(Parallel('a', 'b'));
    const par = forwardWithHeads(model, inputs, { labels });
    expect(par.heads.map((h) => h.head)).toEqual(['a', 'b']);
    expect(maxAbsDiff(par.heads[0]!.logits, la)).toBeLessThan(1e-5);
    expect(maxAbsDiff(par.heads[1]!.logits, lb)).toBeLessThan(1e-5);
    const sum = par.heads[0]!.loss!.dataSync()[0]! + par.heads[1]!.loss!.dataSync()[0]!;
    expect(par.loss!.dataSync()[0]).toBeCloseTo(sum, 5);
    model.setActiveAdapters(BatchSplit('a', 'b', [1, 1]));
    const bs = forwardWithHeads(model, inputs, { labels });
    expect(bs.heads[0]!.logits.shape).toEqual([1, 2]);
    expect(bs.heads[1]!.logits.shape).toEqual([1, 3]);
    expect(maxAbsDiff(bs.heads[0]!.logits, tf.slice(la, [0, 0], [1, 2]))).toBeLessThan(1e-5);
    expect(maxAbsDiff(bs.heads[1]!.logits, tf.slice(lb, [1, 0], [1, 3]))).toBeLessThan(1e-5);
    dispose(model);
  });
});

describe('losses', () => {
  it('tagging loss ignores padding and label −100', () => {
    const model = tinyModel();
    addTaggingHead(model, 'tag', { numLabels: 3 });
    const inputs = { ...tokenBatch(2, 4), attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 0, 0]], undefined, 'int32') };
    const labels = tf.tensor2d([[0, 1, -100, 2], [2, 1, 0, 0]], undefined, 'int32');
    const r = forwardWithHeads(model, inputs, { labels });
    expect(r.logits.shape).toEqual([2, 4, 3]);
    const rows = r.logits.arraySync() as number[][][];
    const picked = [rows[0]![0]!, rows[0]![1]!, rows[0]![3]!, rows[1]![0]!, rows[1]![1]!];
    const manual = crossEntropy(tf.tensor2d(picked), tf.tensor1d([0, 1, 2, 2, 1], 'int32'));
    expect(r.loss!.dataSync()[0]).toBeCloseTo(manual.dataSync()[0]!, 5);
    dispose(model);
  });

  it('causal LM loss shifts labels by one; MLM loss counts only labelled positions', () => {
    const model = tinyModel();
    addCausalLmHead(model, 'clm');
    const inputs = tokenBatch(1, 5);
    const ids = inputs.inputIds;
    const r = forwardWithHeads(model, inputs, { labels: ids });
    const manual = crossEntropy(tf.reshape(tf.slice(r.logits, [0, 0, 0], [1, 4, 50]), [4, 50]) as tf.Tensor2D, tf.reshape(tf.slice(ids, [0, 1], [1, 4]), [4]) as tf.Tensor1D);
    expect(r.loss!.dataSync()[0]).toBeCloseTo(manual.dataSync()[0]!, 5);
    addMaskedLmHead(model, 'mlm');
    const labels = tf.tensor2d([[-100, 7, -100, -100, 9]], undefined, 'int32');
    const m = forwardWithHeads(model, inputs, { labels });
    const mm = crossEntropy(tf.gather(tf.reshape(m.logits, [5, 50]), [1, 4]) as tf.Tensor2D, tf.tensor1d([7, 9], 'int32'));
    expect(m.loss!.dataSync()[0]).toBeCloseTo(mm.dataSync()[0]!, 5);
    dispose(model);
  });

  it('regression (num_labels 1) uses MSE and multi-label uses BCE with logits', () => {
    const model = tinyModel();
    addClassificationHead(model, 'reg', { numLabels: 1 });
    const inputs = tokenBatch(2, 3);
    const r = forwardWithHeads(model, inputs, { labels: tf.tensor1d([0.5, -1]) });
    const l = r.logits.dataSync();
    expect(r.loss!.dataSync()[0]).toBeCloseTo(((l[0]! - 0.5) ** 2 + (l[1]! + 1) ** 2) / 2, 5);
    addClassificationHead(model, 'ml', { numLabels: 2, multilabel: true });
    const t = [[1, 0], [1, 1]];
    const m = forwardWithHeads(model, inputs, { labels: tf.tensor2d(t) });
    const x = m.logits.arraySync() as number[][];
    let s = 0;
    x.forEach((row, i) => row.forEach((v, j) => (s += -(t[i]![j]! * Math.log(1 / (1 + Math.exp(-v))) + (1 - t[i]![j]!) * Math.log(1 - 1 / (1 + Math.exp(-v)))))));
    expect(m.loss!.dataSync()[0]).toBeCloseTo(s / 4, 5);
    dispose(model);
  });
});

describe('LM heads and the head.input hook', () => {
  it('GPT-2 causal LM head equals the host LM logits; only the flex head runs head.input (the static GPT2LMHeadModel head does not)', async () => {
    const model = await goldenModel('gpt2', [shiftMethod(true)]);
    addCausalLmHead(model, 'lm');
    const inputs = tokenBatch(2, 6, 512);
    const host = model.forward(inputs, { lmLogits: true });
    const r = forwardWithHeads(model, inputs);
    expect(maxAbsDiff(r.logits, host.logits!)).toBeLessThan(1e-5);
    model.addAdapter('s', { method: 'test-shift', amount: 0.5 } as never, { setActive: true });
    const hostShift = model.forward(inputs, { lmLogits: true });
    const rs = forwardWithHeads(model, inputs);
    // the shift method acts only at head.input: the flex head applies it, the host's static head does not
    expect(maxAbsDiff(hostShift.logits!, host.logits!)).toBeLessThan(1e-5);
    expect(maxAbsDiff(rs.logits, r.logits)).toBeGreaterThan(1e-3);
    dispose(model);
  });

  it('a multi-layer masked-LM head runs the head.input hook before its tied projection', () => {
    const m2 = tinyModel(0, {}, [shiftMethod(false)]);
    addMaskedLmHead(m2, 'mlm');
    const inputs = tokenBatch(1, 4);
    const plain = forwardWithHeads(m2, inputs);
    m2.addAdapter('s', { method: 'test-shift' } as never, { setActive: true });
    const shifted = forwardWithHeads(m2, inputs);
    // the shift method only acts at head.input, so a changed output proves the hook ran inside the head
    expect(maxAbsDiff(shifted.logits, plain.logits)).toBeGreaterThan(1e-4);
    expect(maxAbsDiff(shifted.outputs.lastHiddenState, plain.outputs.lastHiddenState)).toBe(0);
    disposeHeads(m2);
    m2.dispose();
  });
});

describe('memory', () => {
  it('keeps tf.memory().numTensors flat across head forwards and add/delete', () => {
    const model = tinyModel();
    model.addAdapter('a', 'pfeiffer', { setActive: true });
    const inputs = tokenBatch(2, 5);
    const labels = tf.tensor1d([0, 1], 'int32');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      const h = addClassificationHead(model, 'x', { overwriteOk: true });
      expect(h.numParams()).toBe(16 * 16 + 16 + 2 * 16 + 2);
      const r = forwardWithHeads(model, inputs, { labels, training: true });
      tf.dispose([r.outputs.lastHiddenState, r.outputs.poolerOutput!, r.logits, r.loss!]);
      addMaskedLmHead(model, 'm', { overwriteOk: true });
      getHeads(model).delete('m');
      getHeads(model).delete('x');
      expect(tf.memory().numTensors).toBe(before);
    }
    dispose(model);
  });
});

describe('multiple-choice head', () => {
  it('has the classification layout with a last Linear(h, 1) and reshapes flattened choices to [batch, num_choices]', async () => {
    const model = tinyModel(5);
    const head = addMultipleChoiceHead(model, 'mc', { numChoices: 3 });
    expect(head.modules.map((m) => m.kind)).toEqual(['dropout', 'linear', 'activation', 'dropout', 'linear']);
    const files = await serializeHead(model, 'mc');
    expect(fileKeys(files['model_head.safetensors'] as Uint8Array)).toEqual({
      'heads.mc.1.weight': [16, 16],
      'heads.mc.1.bias': [16],
      'heads.mc.4.weight': [1, 16],
      'heads.mc.4.bias': [1],
    });
    const inputs = tokenBatch(6, 5); // 2 examples × 3 choices
    const r = forwardWithHeads(model, inputs);
    expect(r.logits.shape).toEqual([2, 3]);
    // by hand: score of row b·3 + c from its first token, Linear → tanh → Linear
    const [w1, b1, w2, b2] = head.list().map((p) => p.variable as unknown as tf.Tensor);
    const manual = tf.tidy(() => {
      const h = r.outputs.lastHiddenState;
      const first = tf.reshape(tf.slice(h, [0, 0, 0], [6, 1, 16]), [6, 16]) as tf.Tensor2D;
      const hidden = tf.tanh(linear(first, w1 as tf.Tensor2D, b1 as tf.Tensor1D));
      return tf.reshape(linear(hidden, w2 as tf.Tensor2D, b2 as tf.Tensor1D), [2, 3]);
    });
    expect(maxAbsDiff(r.logits, manual)).toBeLessThan(1e-6);
    expect(() => forwardWithHeads(model, tokenBatch(4, 5))).toThrow(/num_choices 3 but the model output has 4 rows/);
    tf.dispose([r.outputs.lastHiddenState, r.outputs.poolerOutput!, r.logits, manual, inputs.inputIds]);
    dispose(model);
  });

  it('loss is cross-entropy over the choices (by hand)', () => {
    const model = tinyModel(6);
    addMultipleChoiceHead(model, 'mc', { numChoices: 2 });
    const inputs = tokenBatch(6, 4); // 3 examples × 2 choices
    const r = forwardWithHeads(model, inputs, { labels: tf.tensor1d([1, 0, 1], 'int32') });
    const x = r.logits.arraySync() as number[][];
    const nll = [1, 0, 1].map((right, i) => Math.log(Math.exp(x[i]![0]!) + Math.exp(x[i]![1]!)) - x[i]![right]!);
    expect(r.loss!.dataSync()[0]).toBeCloseTo(nll.reduce((a, b) => a + b, 0) / 3, 5);
    dispose(model);
  });

  it('round-trips through save/load with head_type multiple_choice and num_choices', async () => {
    const a = tinyModel(7);
    addMultipleChoiceHead(a, 'mc', { numChoices: 4, usePooler: true });
    await saveHead(a, join(tmp, 'mc'), 'mc');
    const cfg = JSON.parse(readFileSync(join(tmp, 'mc', 'head_config.json'), 'utf8')) as { config: Record<string, unknown> };
    expect(cfg.config).toEqual({
      head_type: 'multiple_choice',
      num_choices: 4,
      layers: 2,
      activation_function: 'tanh',
      label2id: { LABEL_0: 0, LABEL_1: 1, LABEL_2: 2, LABEL_3: 3 },
      use_pooler: true,
    });
    const b = tinyModel(7);
    expect(await loadHead(b, join(tmp, 'mc'), { loadAs: 'other' })).toBe('other');
    expect(getHeads(b).require('other').config).toMatchObject({ headType: 'multiple_choice', numChoices: 4, usePooler: true, bias: true });
    const inputs = tokenBatch(8, 5);
    const ra = forwardWithHeads(a, inputs);
    const rb = forwardWithHeads(b, inputs);
    expect(ra.logits.shape).toEqual([2, 4]);
    expect(maxAbsDiff(ra.logits, rb.logits)).toBe(0);
    expect(() => headConfigFromJson({ head_type: 'multiple_choice', num_labels: 2 }, 'cfg')).toThrow(/'num_labels' is not a field of multiple_choice heads/);
    expect(headConfigFromJson({ head_type: 'multiple_choice' }, 'cfg')).toMatchObject({ numChoices: 2, layers: 2, activationFunction: 'tanh', usePooler: false, bias: true });
    tf.dispose([ra, rb, inputs] as never);
    dispose(a);
    dispose(b);
  });

  it('gives each BatchSplit head the labels of its whole examples', () => {
    const model = tinyModel(8, {}, [scaleMethod]);
    model.addAdapter('a', { method: 'test-scale' } as never);
    model.addAdapter('b', { method: 'test-scale', init: 0.5 } as never);
    addMultipleChoiceHead(model, 'a', { numChoices: 2 });
    addMultipleChoiceHead(model, 'b', { numChoices: 2 });
    const inputs = tokenBatch(4, 5);
    const labels = tf.tensor1d([1, 0], 'int32');
    model.setActiveAdapters(BatchSplit('a', 'b', [2, 2]));
    const r = forwardWithHeads(model, inputs, { labels });
    expect(r.heads.map((h) => h.logits.shape)).toEqual([[1, 2], [1, 2]]);
    const own = (i: number, right: number): number => {
      const x = r.heads[i]!.logits.dataSync();
      return Math.log(Math.exp(x[0]!) + Math.exp(x[1]!)) - x[right]!;
    };
    expect(r.heads[0]!.loss!.dataSync()[0]).toBeCloseTo(own(0, 1), 5);
    expect(r.heads[1]!.loss!.dataSync()[0]).toBeCloseTo(own(1, 0), 5);
    model.setActiveAdapters(BatchSplit('a', 'b', [1, 3]));
    expect(() => forwardWithHeads(model, inputs, { labels })).toThrow(/does not hold whole examples of 2 choices/);
    dispose(model);
  });
});
