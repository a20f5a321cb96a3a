import { resolve } from 'node:path';
import { adapterHubGapsOf } from '@adapterkit/core';
import { averageLoRAAdapter, mergeAdapters, type LoRACombineStrategy, type LoRAMergeType } from '@adapterkit/lora';
import type { CommandSpec } from '../cli/command';
import { CliError, UsageError } from '../cli/errors';
import { loadAdapters, loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';

/** PEFT `add_weighted_adapter` types (weights as given, result scaling 1). */
const PEFT_TYPES = ['linear', 'ties', 'dare_linear', 'dare_ties', 'magnitude_prune'] as const satisfies readonly LoRAMergeType[];
/** `adapters` `average_adapter` strategies (weights normalised to sum 1 unless --no-normalize). */
const AVERAGE_TYPES = ['average_linear', 'lora_linear_only_negate_b', 'lora_delta_w_svd'] as const;
const STRATEGIES = [...PEFT_TYPES, ...AVERAGE_TYPES] as const;
type Strategy = (typeof STRATEGIES)[number];

function parseWeights(text: string | undefined, n: number): number[] | undefined {
  if (text === undefined) return undefined;
  const w = text.split(',').map((s) => Number(s.trim()));
  if (w.length !== n || w.some((x) => !Number.isFinite(x))) throw new UsageError(`--weights expects ${n} comma-separated numbers (one per --adapter), got '${text}'`);
  return w;
}

/** `adapterkit merge-adapters`: combine several LoRA adapters into one new adapter folder. */
export const mergeAdaptersCommand: CommandSpec = {
  name: 'merge-adapters',
  summary: 'combine LoRA adapters into a new one (task arithmetic, TIES, DARE, magnitude pruning, averaging)',
  usage: ['--model DIR --adapter DIR --adapter DIR [--weights W,W] [--strategy NAME] [--density D] --out DIR'],
  details: [
    "PEFT's add_weighted_adapter (--strategy linear|ties|dare_linear|dare_ties|magnitude_prune): lora_A and lora_B",
    'are each combined with weights √(w·scaling); the result has alpha = r. The pruning strategies need --density.',
    "adapters' average_adapter (--strategy average_linear|lora_linear_only_negate_b|lora_delta_w_svd): weights are",
    'normalised to sum 1; lora_delta_w_svd needs --svd-rank. The adapters must share one LoRA config.',
  ],
  options: {
    ...MODEL_OPTIONS,
    adapter: { type: 'string', value: 'DIR', description: 'a saved LoRA adapter folder (repeat, at least one)', multiple: true },
    weights: { type: 'string', value: 'W,W', description: 'one weight per adapter (default: 1 each for PEFT types, equal for averaging)' },
    strategy: { type: 'string', value: 'NAME', description: `${STRATEGIES.join('|')} (default linear)` },
    density: { type: 'string', value: 'D', description: 'fraction of entries kept by ties/dare_*/magnitude_prune, in [0, 1]' },
    'majority-sign': { type: 'string', value: 'total|frequency', description: 'TIES sign election (default total)' },
    'svd-rank': { type: 'string', value: 'K', description: 'rank of the lora_delta_w_svd result' },
    seed: { type: 'string', value: 'N', description: "seed of DARE's random masks (default 0)" },
    name: { type: 'string', value: 'NAME', description: 'name of the new adapter (default merged)' },
    out: { type: 'string', value: 'DIR', description: 'folder for the new adapter' },
    'adapterkit-only': { type: 'boolean', description: 'save a result whose config the AdapterHub libraries lack (LoRA use_dora, use_rslora, extra_modules) for AdapterKit only' },
  },
  examples: [
    'adapterkit merge-adapters --model models/bert --adapter out/a --adapter out/b --weights 1,0.5 --strategy ties --density 0.5 --out out/ab',
  ],
  async run(args, ctx) {
    const dirs = args.strings('adapter');
    if (dirs.length === 0) throw new UsageError(`missing --adapter DIR ${"(see 'adapterkit merge-adapters --help')"}`);
    const out = resolve(ctx.io.cwd, args.required('out', 'DIR'));
    const strategy = args.choice<Strategy>('strategy', STRATEGIES, 'linear');
    const weights = parseWeights(args.string('weights'), dirs.length);
    const name = args.string('name') ?? 'merged';
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    const names = await loadAdapters(model, dirs, ctx);
    if ((PEFT_TYPES as readonly string[]).includes(strategy)) {
      const density = args.has('density') ? args.number('density', 1, true) : undefined;
      mergeAdapters(model, name, names, weights ?? names.map(() => 1), {
        combinationType: strategy as LoRAMergeType,
        ...(density !== undefined ? { density } : {}),
        majoritySignMethod: args.choice('majority-sign', ['total', 'frequency'] as const, 'total'),
        seed: args.int('seed', 0, 0),
      });
    } else {
      const combineStrategy: LoRACombineStrategy = strategy === 'average_linear' ? 'linear' : (strategy as LoRACombineStrategy);
      const svdRank = args.int('svd-rank', undefined);
      averageLoRAAdapter(model, name, names, weights, { combineStrategy, ...(svdRank !== undefined ? { svdRank } : {}) });
    }
    const gaps = adapterHubGapsOf(model, name);
    if (gaps.length > 0 && !args.flag('adapterkit-only')) {
      throw new CliError(
        `adapter-transformers 3.2.1 and adapters 1.1 would load the merged adapter as a different model (${gaps.join('; ')}); give --adapterkit-only to save it for AdapterKit only`,
        'NOT_ADAPTERHUB_LOADABLE',
      );
    }
    await model.saveAdapter(out, name, { adapterKitOnly: gaps.length > 0 });
    ctx.out(`merged ${names.map((n) => `'${n}'`).join(', ')} (${strategy}) into adapter '${name}'`);
    ctx.out(`wrote ${out}`);
  },
};
