/**
 * The fuzz targets: every reader and parser a user's file or string reaches, each driven through the same entry
 * point a user's input takes (files are written to a scratch folder where the reader takes a path).
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AdapterModel, parseJsonObject, parseSafetensors, resolveAdapterConfig, serializeSafetensors } from '@adapterkit/core';
import { bertTokenizerJson, readCsv, readJsonl, Tokenizer } from '@adapterkit/data';
import { exportPeftAdapter, importPeftAdapter } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { discoverPlugins } from '@adapterkit/testkit';
import { parseTorchCheckpoint, serializeTorchCheckpoint } from '@adapterkit/torch-format';
import { headConfigFromJson } from '@adapterkit/training';
import { parseSetup } from '../../apps/cli/src/runtime/setup';
import { UsageError } from '../../apps/cli/src/cli/errors';
import { FuzzRng, utf8, type FuzzTarget } from './harness';

const GOLDEN = fileURLToPath(new URL('../../fixtures/golden/', import.meta.url));
const dec = new TextDecoder();
const text = (b: Uint8Array): string => dec.decode(b);

/** Adapter cases whose files seed the file-format targets. */
const CASES = ['pfeiffer', 'houlsby', 'lora', 'prefix_tuning', 'compacter', 'pfeiffer_inv', 'union', 'mam', 'ia3'];

const CONFIG_NAMES = ['pfeiffer', 'houlsby', 'lora', 'ia3', 'prefix_tuning', 'compacter', 'compacter++', 'mam', 'parallel', 'scaled_parallel', 'double_seq_bn', 'seq_bn_inv', 'prompt_tuning', 'loreft', 'unipelt', 'par_bn', 'nope'];
const CONFIG_KEYS = ['reduction_factor', 'r', 'alpha', 'dropout', 'non_linearity', 'leave_out', 'prefix_length', 'flat', 'phm_dim', 'inv_adapter', 'inv_adapter_reduction_factor', 'scaling', 'bottleneck_size', 'selfattn_lora', 'attn_matrices', 'init_weights', 'mh_adapter', 'output_adapter', 'cross_adapter', 'encoder_prefix', 'unknown_key'];

function pyValue(rng: FuzzRng, depth = 0): string {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return String(rng.pick([0, 1, 2, 8, 16, -3, 1e9, 1e-300, 0.5, 1e-7, 4096]));
    case 1:
      return `${rng.int(100)}.${rng.int(10)}`;
    case 2:
      return rng.pick(["'relu'", "'swish'", "'nice'", "'glow'", "'bert'", "'q'", '"v"', "'learned'", "''"]);
    case 3:
      return rng.pick(['True', 'False', 'None']);
    case 4:
      return rng.pick(['relu', 'x', '1x', '--1']);
    case 5:
      return "'" + 'a'.repeat(rng.int(50)) + "'";
    case 6:
      return `[${Array.from({ length: rng.int(4) }, () => pyValue(rng, depth + 1)).join(', ')}]`;
    case 7:
      return `(${Array.from({ length: rng.int(3) }, () => pyValue(rng, depth + 1)).join(', ')},)`;
    default:
      return `{${Array.from({ length: rng.int(3) }, () => `${rng.pick(["'default'", "'0'", '1', "'x'"])}: ${pyValue(rng, depth + 1)}`).join(', ')}}`;
  }
}

function configString(rng: FuzzRng): string {
  const chunk = (): string => {
    const name = rng.pick(CONFIG_NAMES);
    if (rng.chance(0.3)) return name;
    const args = Array.from({ length: 1 + rng.int(3) }, () => `${rng.pick(CONFIG_KEYS)}=${pyValue(rng)}`);
    return `${name}[${args.join(', ')}]`;
  };
  return Array.from({ length: 1 + rng.int(3) }, chunk).join(rng.pick(['|', '|', ' | ']));
}

function setupString(rng: FuzzRng, depth = 0): string {
  if (depth > 4 || rng.chance(0.35)) return rng.pick(['a', 'b', 'c', 'lang', 'task', 'x y']);
  const block = rng.pick(['Stack', 'Fuse', 'Split', 'BatchSplit', 'Parallel', 'Average', 'Stak']);
  const [o, c] = rng.pick([['[', ']'], ['(', ')']] as const);
  const kids = Array.from({ length: 1 + rng.int(3) }, () => setupString(rng, depth + 1));
  if (rng.chance(0.3)) kids.push(`${rng.pick(['split_index', 'batch_sizes', 'weights', 'splits', 'bogus'])}=${rng.pick(['1', '[1, 2]', '(0.5, 0.5)', 'x', '1e308'])}`);
  return `${block}${o}${kids.join(', ')}${c}`;
}

function randomJsonValue(rng: FuzzRng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 5 : 7)) {
    case 0:
      return rng.pick([0, 1, -1, 1e9, 1e-300, 0.5, 2 ** 53 + 2, NaN]);
    case 1:
      return rng.pick(['', 'relu', 'tanh', 'classification', 'x'.repeat(rng.int(40))]);
    case 2:
      return rng.pick([true, false, null]);
    case 3:
      return rng.int(4);
    case 4:
      return rng.pick(['F32', 'I64', 'F16', 'BF16', 'BOOL', 'U8', 'Q4']);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomJsonValue(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, (_, i) => [rng.pick(['a', 'b', 'default', String(i), '__proto__']), randomJsonValue(rng, depth + 1)]));
  }
}

/** Mutates one value of a JSON object (grammar-aware): replace a field with a random value, delete or add one. */
function jsonTweak(seed: Record<string, unknown>, path: readonly string[], keys: readonly string[], rng: FuzzRng): Uint8Array {
  const doc = structuredClone(seed) as Record<string, unknown>;
  let at = doc;
  for (const p of path) at = (at[p] ?? {}) as Record<string, unknown>;
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const k = rng.chance(0.8) ? rng.pick([...Object.keys(at), ...keys]) : `k${rng.int(10)}`;
    if (rng.chance(0.15)) delete at[k];
    else at[k] = randomJsonValue(rng);
  }
  return utf8(JSON.stringify(doc));
}

function safetensorsGenerate(rng: FuzzRng): Uint8Array {
  const n = rng.int(4);
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (let i = 0; i < n; i++) {
    const shape = Array.from({ length: rng.int(3) }, () => rng.int(4));
    const dtype = rng.pick(['F32', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL', 'F64', 'I8']);
    const bytes = shape.reduce((a, d) => a * d, 1) * ({ F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, U8: 1, BOOL: 1, F64: 8, I8: 1 } as Record<string, number>)[dtype]!;
    const end = rng.chance(0.9) ? offset + bytes : offset + rng.int(16);
    header[rng.chance(0.9) ? `t${i}` : '__metadata__'] = rng.chance(0.9) ? { dtype, shape, data_offsets: [offset, end] } : randomJsonValue(rng);
    offset = rng.chance(0.9) ? end : rng.int(offset + 1);
  }
  const h = utf8(JSON.stringify(header));
  const data = new Uint8Array(offset + (rng.chance(0.1) ? rng.int(8) : 0));
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(rng.chance(0.95) ? h.length : rng.int(h.length + 16)), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** Builds every target; `work` is a scratch folder (removed by the caller). */
export async function makeTargets(work: string): Promise<FuzzTarget[]> {
  await tf.setBackend('cpu');
  const { plugins } = await discoverPlugins((p) => import(p));
  const host = await loadHost(join(GOLDEN, 'models', 'bert'));
  const model = new AdapterModel(host, { methods: plugins, warn: () => undefined });
  const caseFiles = CASES.map((c) => join(GOLDEN, 'cases', 'bert', c));
  const read = (p: string): Uint8Array | undefined => {
    try {
      return new Uint8Array(readFileSync(p));
    } catch {
      return undefined;
    }
  };
  const defined = <T>(xs: (T | undefined)[]): T[] => xs.filter((x): x is T => x !== undefined);
  const numTensors = (): number => tf.memory().numTensors;

  // adapter_config.json → loadAdapter, next to the pfeiffer weights
  const adapterDir = join(work, 'adapter');
  mkdirSync(adapterDir, { recursive: true });
  cpSync(join(GOLDEN, 'cases', 'bert', 'pfeiffer', 'adapter.safetensors'), join(adapterDir, 'adapter.safetensors'));
  const adapterSeeds = defined(caseFiles.map((d) => read(join(d, 'adapter_config.json'))));
  const adapterDocs = adapterSeeds.map((b) => JSON.parse(text(b)) as Record<string, unknown>);

  // PEFT: export a LoRA adapter, then fuzz its adapter_config.json (the weights stay)
  const peftDir = join(work, 'peft');
  model.addAdapter('peft_seed', 'lora');
  await exportPeftAdapter(model, 'peft_seed', peftDir);
  model.deleteAdapter('peft_seed');
  const peftSeed = new Uint8Array(readFileSync(join(peftDir, 'adapter_config.json')));
  const peftDoc = JSON.parse(text(peftSeed)) as Record<string, unknown>;

  const headDoc = {
    config: { head_type: 'classification', num_labels: 2, layers: 2, activation_function: 'tanh', label2id: { LABEL_0: 0, LABEL_1: 1 }, use_pooler: false, bias: true },
    hidden_size: 32,
    model_class: 'BertAdapterModel',
    model_name: null,
    model_type: 'bert',
    name: 'task',
    version: '3.2.1',
  };
  const headSeeds = [headDoc, { ...headDoc, config: { head_type: 'tagging', num_labels: 3, layers: 1, activation_function: 'gelu', label2id: null } }, { ...headDoc, config: { head_type: 'masked_lm', vocab_size: 512, layers: 2, activation_function: 'gelu' } }];

  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'a', '##s', 'cat', 'dog', 'é', '##ing'];
  const tokSeed = bertTokenizerJson(vocab, { lowercase: true, stripAccents: null }) as unknown as Record<string, unknown>;

  const dataDir = join(work, 'data');
  mkdirSync(dataDir, { recursive: true });
  const checkedLoad = async (run: () => Promise<unknown>): Promise<void> => {
    const before = numTensors();
    let name: unknown;
    try {
      name = await run();
    } finally {
      if (typeof name === 'string') model.deleteAdapter(name);
      if (numTensors() !== before) throw new Error(`tensor leak: ${numTensors() - before} tensors`);
      if (model.adapterSummary().length !== 0) throw new Error('a failed load left an adapter behind');
    }
  };

  return [
    {
      name: 'safetensors',
      seeds: defined(caseFiles.map((d) => read(join(d, 'adapter.safetensors')))),
      generate: safetensorsGenerate,
      run: (b) => parseSafetensors(b),
    },
    {
      name: 'torch',
      seeds: defined(caseFiles.map((d) => read(join(d, 'pytorch_adapter.bin')))),
      generate: (rng) =>
        serializeTorchCheckpoint(
          Object.fromEntries(
            Array.from({ length: 1 + rng.int(3) }, (_, i) => {
              const shape = Array.from({ length: rng.int(3) }, () => 1 + rng.int(3));
              return [`w${i}`, { shape, data: new Float32Array(shape.reduce((a, d) => a * d, 1)).fill(rng.next()) }];
            }),
          ) as never,
        ),
      run: (b) => parseTorchCheckpoint(b),
    },
    {
      name: 'adapter-config',
      seeds: adapterSeeds,
      generate: (rng) => jsonTweak(rng.pick(adapterDocs), ['config'], CONFIG_KEYS, rng),
      run: async (b) => {
        writeFileSync(join(adapterDir, 'adapter_config.json'), b);
        await checkedLoad(() => model.loadAdapter(adapterDir));
      },
    },
    {
      name: 'peft-config',
      seeds: [peftSeed],
      generate: (rng) => jsonTweak(peftDoc, [], ['r', 'lora_alpha', 'target_modules', 'peft_type', 'fan_in_fan_out', 'bias', 'modules_to_save', 'layers_to_transform', 'use_rslora', 'use_dora', 'rank_pattern'], rng),
      run: async (b) => {
        writeFileSync(join(peftDir, 'adapter_config.json'), b);
        await checkedLoad(() => importPeftAdapter(model, peftDir, { name: 'fuzz' }));
      },
    },
    {
      name: 'head-config',
      seeds: headSeeds.map((d) => utf8(JSON.stringify(d))),
      generate: (rng) => jsonTweak(rng.pick(headSeeds), ['config'], ['head_type', 'num_labels', 'layers', 'activation_function', 'label2id', 'use_pooler', 'bias', 'vocab_size', 'multilabel', 'num_choices'], rng),
      run: (b) => {
        const doc = parseJsonObject(text(b), 'head_config.json');
        return headConfigFromJson(doc['config'], 'head_config.json', host.info.vocabSize);
      },
    },
    {
      name: 'config-string',
      seeds: ['pfeiffer', 'lora[r=8, alpha=16]', 'pfeiffer[reduction_factor={"default": 16, "1": 2}]|prefix_tuning[prefix_length=30]', 'mam', 'compacter++[phm_dim=4]', 'houlsby[leave_out=[0, 1], non_linearity="swish"]'].map(utf8),
      generate: (rng) => utf8(configString(rng)),
      run: (b) => resolveAdapterConfig(text(b), model.methods, host.info),
    },
    {
      name: 'composition',
      seeds: ['Stack[lang, task]', 'Fuse(a, b)', 'Split[a, b, split_index=5]', 'BatchSplit[a, b, batch_sizes=[1, 1]]', 'Average[a, b, weights=[0.7, 0.3]]', 'Stack[lang, Fuse[a, b]]'].map(utf8),
      generate: (rng) => utf8(setupString(rng)),
      run: (b) => parseSetup(text(b)),
      expected: [UsageError],
    },
    {
      name: 'tokenizer',
      seeds: [utf8(JSON.stringify(tokSeed))],
      generate: (rng) => jsonTweak(tokSeed, rng.pick([[], ['model'], ['normalizer'], ['pre_tokenizer'], ['post_processor'], ['decoder']]), ['vocab', 'type', 'unk_token', 'max_input_chars_per_word', 'continuing_subword_prefix', 'added_tokens', 'special_tokens', 'single', 'pair'], rng),
      run: (b) => {
        const tok = Tokenizer.fromJSON(parseJsonObject(text(b), 'tokenizer.json') as never);
        return tok.encode('The cats é dog-ing [MASK] unknownword');
      },
    },
    {
      name: 'csv',
      seeds: ['text,label\nhello,pos\n"a, b",neg\n', 'text\tlabel\nx\t1\n', 'label,text\n1,"multi\nline ""quoted"""\n'].map(utf8),
      generate: (rng) => {
        const cell = (): string => rng.pick(['a', '"q, ""x"""', '', '"open', 'pos', 'neg', '1', '"line\nbreak"', 'é']);
        const header = rng.chance(0.9) ? 'text,label' : rng.pick(['text', 'label,text', 'text,text', '']);
        return utf8([header, ...Array.from({ length: rng.int(5) }, () => Array.from({ length: 1 + rng.int(3) }, cell).join(','))].join(rng.pick(['\n', '\r\n'])));
      },
      run: async (b) => {
        const p = join(dataDir, 'd.csv');
        writeFileSync(p, b);
        return readCsv(p);
      },
    },
    {
      name: 'jsonl',
      seeds: ['{"text": "hello", "label": "pos"}\n{"text": "bye", "label": "neg"}\n', '{"text": "a", "label": 1}\n\n'].map(utf8),
      generate: (rng) =>
        utf8(Array.from({ length: rng.int(5) }, () => JSON.stringify(rng.chance(0.8) ? { text: randomJsonValue(rng), label: randomJsonValue(rng) } : randomJsonValue(rng))).join('\n')),
      run: async (b) => {
        const p = join(dataDir, 'd.jsonl');
        writeFileSync(p, b);
        return readJsonl(p);
      },
    },
  ];
}

/** Disposes what {@link makeTargets} set up and removes the scratch folder. */
export function cleanupTargets(work: string): void {
  rmSync(work, { recursive: true, force: true });
}
