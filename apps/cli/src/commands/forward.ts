import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { serializeSafetensors, tfToTensorEntry, writeFileAtomic, type ModelOutputs, type TensorEntry } from '@adapterkit/core';
import { forwardWithHeads, getHeads } from '@adapterkit/training';
import type { CommandSpec } from '../cli/command';
import { readJsonFile } from '../runtime/files';
import { readInputs, toTensors } from '../runtime/inputs';
import { hostOf } from '../runtime/limits';
import { activate, loadAdapters, loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';

/** `adapterkit forward`: run a model (+ adapters) on token ids and write its outputs as safetensors. */
export const forwardCommand: CommandSpec = {
  name: 'forward',
  summary: 'run the model (with adapters) on token ids and write the outputs as safetensors',
  usage: ['--model DIR --inputs FILE [--adapter DIR ...] [--setup SETUP] --out FILE'],
  details: [
    'The inputs file is JSON: {"input_ids": [[...], ...], "attention_mask": ..., "token_type_ids": ...} (one',
    "sequence or a batch), or one such object per model type (as in fixtures/golden/inputs.json), of which the",
    "model's section is used. The output file holds last_hidden_state [batch, seq, hidden], pooler_output",
    '[batch, hidden] (BERT family) and logits (a loaded prediction head, or the LM head of GPT-2), float32, under',
    'the names transformers uses, for comparison with other implementations.',
  ],
  options: {
    ...MODEL_OPTIONS,
    inputs: { type: 'string', value: 'FILE', description: 'token ids as JSON' },
    adapter: { type: 'string', multiple: true, value: 'DIR', description: 'a saved adapter folder to load (with its head, if saved with one)' },
    setup: { type: 'string', value: 'SETUP', description: "composition of the loaded adapters, e.g. 'Stack[a, b]' (default: the only one, or all stacked)" },
    out: { type: 'string', value: 'FILE', description: 'output .safetensors file' },
  },
  examples: [
    'adapterkit forward --model fixtures/golden/models/bert --inputs fixtures/golden/inputs.json --out base.safetensors',
    'adapterkit forward --model fixtures/golden/models/bert --inputs fixtures/golden/inputs.json \\\n      --adapter fixtures/golden/cases/bert/pfeiffer --out pfeiffer.safetensors',
    "adapterkit forward --model models/bert --inputs in.json --adapter out/lang --adapter out/task --setup 'Stack[lang, task]' --out o.safetensors",
  ],
  async run(args, ctx) {
    const inputsPath = resolve(ctx.io.cwd, args.required('inputs', 'FILE'));
    const outPath = resolve(ctx.io.cwd, args.required('out', 'FILE'));
    const source = await resolveModel(args, ctx);
    const doc = await readJsonFile(inputsPath, '--inputs');
    const model = await loadModel(source.dir, ctx);
    const host = hostOf(model);
    const arrays = readInputs(doc, host.config, inputsPath);
    const names = await loadAdapters(model, args.strings('adapter'), ctx);
    activate(model, names, args.string('setup'), ctx);

    const inputs = toTensors(arrays);
    let outputs: ModelOutputs;
    let headLogits: tf.Tensor | undefined;
    try {
      if (getHeads(model).activeHead) {
        const r = forwardWithHeads(model, inputs);
        outputs = r.outputs;
        headLogits = r.logits;
      } else {
        outputs = model.forward(inputs, { lmLogits: host.info.hasLmHead });
      }
    } finally {
      tf.dispose(Object.values(inputs));
    }
    const named: Array<[string, tf.Tensor | undefined]> = [
      ['last_hidden_state', outputs.lastHiddenState],
      ['pooler_output', outputs.poolerOutput],
      ['logits', headLogits ?? outputs.logits],
    ];
    const tensors: Record<string, TensorEntry> = {};
    for (const [key, t] of named) if (t) tensors[key] = await tfToTensorEntry(t);
    tf.dispose([outputs.lastHiddenState, outputs.poolerOutput, outputs.logits, headLogits].filter((t): t is tf.Tensor => t !== undefined));
    await mkdir(dirname(outPath), { recursive: true });
    await writeFileAtomic(outPath, serializeSafetensors(tensors as Record<string, { shape: number[]; data: Float32Array }>));
    for (const [key, t] of Object.entries(tensors)) ctx.out(`${key} [${t.shape.join(', ')}]`);
    ctx.out(`wrote ${outPath}`);
  },
};
