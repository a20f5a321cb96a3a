import type { CommandSpec } from '../cli/command';
import { activate, loadAdapters, loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';
import { splitNamedConfig } from '../runtime/config-name';
import { describeModel } from '../runtime/describe';

/** `adapterkit summary`: the adapter table of a model with saved and/or new adapters. */
export const summaryCommand: CommandSpec = {
  name: 'summary',
  summary: 'print the adapter table (parameters per adapter, % of the model, active, trainable)',
  usage: ['--model DIR [--adapter DIR ...] [--config [NAME=]CONFIG ...] [--setup SETUP]'],
  details: [
    'Loads saved adapters and/or adds new ones from config strings (AdapterHub grammar), activates them and prints',
    "the reference library's adapter_summary() table.",
  ],
  options: {
    ...MODEL_OPTIONS,
    adapter: { type: 'string', multiple: true, value: 'DIR', description: 'a saved adapter folder (adapter_config.json + adapter.safetensors)' },
    config: { type: 'string', multiple: true, value: '[NAME=]CONFIG', description: "add a new adapter from a config string, e.g. 'pfeiffer[reduction_factor=8]'" },
    setup: { type: 'string', value: 'SETUP', description: "adapters to activate, e.g. 'Stack[lang, task]' (default: all, stacked)" },
  },
  examples: [
    "adapterkit summary --model embedded --config 'pfeiffer' --config 'lora[r=8]'",
    "adapterkit summary --model models/bert --config lang=pfeiffer+inv --config task=pfeiffer --setup 'Stack[lang, task]'",
    'adapterkit summary --model models/bert --adapter out/sentiment',
  ],
  async run(args, ctx) {
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    const names = await loadAdapters(model, args.strings('adapter'), ctx);
    for (const value of args.strings('config')) {
      const { name, config } = splitNamedConfig(value);
      model.addAdapter(name, config);
      names.push(name);
    }
    activate(model, names, args.string('setup'), ctx);
    ctx.out(describeModel(source.spec, model));
    ctx.out(model.formatAdapterSummary());
  },
};
