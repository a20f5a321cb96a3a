import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors } from '@adapterkit/core';
import { saveTokenizer, trainWordPiece } from '@adapterkit/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, cli, copyModel, GOLDEN, GOLDEN_BERT, NEG, POS, removeCli, runMain, writeReviewsCsv } from './test-helpers';

const NAMES = ['anna', 'bob', 'carl', 'dora'];

let tmp: string;
/** The golden tiny BERT plus a WordPiece tokenizer built on the fly. */
let model: string;
let gpt2: string;
let csv: string;

/** Exactly one stderr line `adapterkit: error: …`, no stack trace. */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.startsWith('adapterkit: error: '));
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

beforeAll(async () => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-train-'));
  const tokenizer = trainWordPiece([...POS, ...NEG, ...NAMES.map((n) => `${n} saw the film`)], { vocabSize: 200 });
  model = copyModel(GOLDEN_BERT, join(tmp, 'bert'));
  await saveTokenizer(tokenizer, model);
  gpt2 = copyModel(join(GOLDEN, 'models', 'gpt2'), join(tmp, 'gpt2'));
  await saveTokenizer(tokenizer, gpt2);
  csv = writeReviewsCsv(join(tmp, 'reviews.csv'), 3);
});
afterAll(() => {
  removeCli();
  rmSync(tmp, { recursive: true, force: true });
});

describe('train → predict → eval → summary → forward', () => {
  it('trains a LoRA classifier that the other commands use', async () => {
    const out = join(tmp, 'sentiment');
    const t = await cli([
      'train', '--model', model, '--train', csv, '--test', csv, '--config', 'lora[r=8,alpha=16]', '--name', 'sentiment',
      '--epochs', '20', '--lr', '1e-2', '--batch-size', '8', '--out', out,
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/train step 120\/120 {2}loss \d\.\d{4} {2}\d+ tok\/s {2}ETA 0:00/);
    expect(t.stderr).toMatch(/eval {2}step \d+ \(epoch \d+\): loss/);
    expect(t.stdout).toMatch(/test \(48 examples\): loss 0\.0\d+ {2}accuracy 1\.0000 {2}f1 1\.0000/);
    expect(t.stdout).toMatch(/saved .*: adapter\.safetensors \d+(\.\d)? kB \+ head .*; base model\.safetensors 151 kB \(adapter\.safetensors = \d+\.\d % of the base model\)/);
    for (const f of ['adapter_config.json', 'adapter.safetensors', 'head_config.json', 'model_head.safetensors', 'tokenizer.json', 'vocab.txt', 'train_results.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(JSON.parse(readFileSync(join(out, 'head_config.json'), 'utf8')).config.label2id).toEqual({ neg: 0, pos: 1 });

    const [args, stdin, ev, sum] = await Promise.all([
      cli(['predict', '--model', model, '--adapter', out, 'what a great film', 'awful and boring']),
      cli(['predict', '--model', model, '--adapter', out], { input: 'i loved it\n\nawful acting\n' }),
      cli(['eval', '--model', model, '--adapter', out, '--test', csv]),
      cli(['summary', '--model', model, '--adapter', out]),
    ]);
    expect(args.code, args.stderr).toBe(0);
    expect(args.stdout).toMatch(/^pos\t0\.\d{4}\twhat a great film\nneg\t0\.\d{4}\tawful and boring\n$/);
    expect(stdin.stdout).toMatch(/^pos\t0\.\d{4}\ti loved it\nneg\t0\.\d{4}\tawful acting\n$/);
    expect(ev.code, ev.stderr).toBe(0);
    expect(ev.stdout).toMatch(/sentiment on .*reviews\.csv \(48 examples\): loss 0\.\d+ {2}accuracy 1\.0000 {2}f1 1\.0000/);
    expect(sum.stdout).toMatch(/sentiment\s+lora\s+2,048\s+5\.580\s+1/);

    const fw = join(tmp, 'sentiment.safetensors');
    const f = await cli(['forward', '--model', model, '--adapter', out, '--inputs', join(GOLDEN, 'inputs.json'), '--out', fw]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout).toContain('logits [2, 2]');
    const saved = (await readSafetensors(fw)).tensors;
    expect([...saved.keys()].sort()).toEqual(['last_hidden_state', 'logits', 'pooler_output']);
    expect(saved.get('logits')!.shape).toEqual([2, 2]);
  });

  it('trains tagging and masked-LM adapters', async () => {
    const tags = join(tmp, 'ner.jsonl');
    const lines = Array.from({ length: 24 }, (_, i) => JSON.stringify({ tokens: [NAMES[i % 4], i % 2 ? 'loved' : 'hated', 'the', 'film'], tags: ['PER', 'O', 'O', 'O'] }));
    writeFileSync(tags, `${lines.join('\n')}\n`);
    const [tg, mlm] = await Promise.all([
      cli(['train', '--model', model, '--task', 'tagging', '--train', tags, '--config', 'lora[r=8,alpha=16]', '--lr', '1e-2', '--epochs', '10', '--batch-size', '8', '--out', join(tmp, 'ner')]),
      cli(['train', '--model', model, '--task', 'masked-lm', '--train', csv, '--epochs', '1', '--out', join(tmp, 'mlm')]),
    ]);
    expect(tg.code, tg.stderr).toBe(0);
    expect(tg.stdout).toMatch(/dev \(\d+ examples\): loss \S+ {2}accuracy \S+ {2}f1 \S+/);
    expect(mlm.code, mlm.stderr).toBe(0);
    expect(mlm.stdout).toMatch(/dev \(\d+ examples\): loss \S+ {2}perplexity \S+/);
    const [ptag, pmlm] = await Promise.all([
      cli(['predict', '--model', model, '--adapter', join(tmp, 'ner'), 'dora loved the film']),
      cli(['predict', '--model', model, '--adapter', join(tmp, 'mlm'), 'a great [MASK]']),
    ]);
    expect(ptag.stdout.trim()).toBe('dora/PER loved/O the/O film/O');
    expect(pmlm.code, pmlm.stderr).toBe(0);
    expect(pmlm.stdout).toMatch(/^a great \S+\t\S+:0\.\d{4}\n$/);
  });

  it('trains a causal LM on GPT-2 and generates greedily; fully fine-tunes a classifier', async () => {
    const [lm, full] = await Promise.all([
      cli(['train', '--model', gpt2, '--task', 'causal-lm', '--train', csv, '--max-steps', '3', '--format', 'bin', '--out', join(tmp, 'lm')]),
      cli(['train', '--model', model, '--train', csv, '--full', '--max-steps', '3', '--out', join(tmp, 'full')]),
    ]);
    expect(lm.code, lm.stderr).toBe(0);
    expect(lm.stdout).toMatch(/perplexity/);
    // --format bin: the files adapter-transformers 3.x reads, and predict below loads them
    expect(lm.stdout).toMatch(/saved .*: pytorch_adapter\.bin .* \+ head /);
    expect(lm.stdout).toMatch(/pytorch_adapter\.bin opens in adapter-transformers 3\.x, adapters, AdapterKit/);
    expect(lm.stdout).toMatch(/pytorch_model_head\.bin opens in adapter-transformers 3\.x/);
    expect(readdirSync(join(tmp, 'lm')).filter((f) => /\.(bin|safetensors)$/.test(f)).sort()).toEqual(['pytorch_adapter.bin', 'pytorch_model_head.bin']);
    expect(full.code, full.stderr).toBe(0);
    expect(full.stdout).toMatch(/model\.safetensors 151 kB \+ head .* \(model\.safetensors = 100\.0 % of the base model\)/);
    const [gen, pfull] = await Promise.all([
      cli(['predict', '--model', gpt2, '--adapter', join(tmp, 'lm'), '--max-new-tokens', '4', 'a great']),
      cli(['predict', '--model', join(tmp, 'full'), 'good fun']),
    ]);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^a great/);
    expect(pfull.code, pfull.stderr).toBe(0);
    expect(pfull.stdout).toMatch(/^(pos|neg)\t0\.\d{4}\tgood fun\n$/);
  });
});

describe('bad input', () => {
  it('reports each problem in one line (in-process)', async () => {
    const xml = join(tmp, 'data.xml');
    writeFileSync(xml, '<rows/>');
    const big = join(tmp, 'big-tokenizer');
    await saveTokenizer(trainWordPiece(Array.from({ length: 700 }, (_, i) => `w${i.toString(36)}x${i}`), { vocabSize: 700, minFrequency: 1 }), big);
    const out = join(tmp, 'never');
    const base = ['train', '--model', model, '--out', out];
    const cases: Array<[string[], RegExp, number]> = [
      [[...base, '--train', csv, '--text-column', 'review'], /--text-column "review" is not a column \(available: "text", "label"\)/, 1],
      [[...base, '--train', csv, '--label-column', 'sentiment'], /--label-column "sentiment" is not a column \(available: "text", "label"\)/, 1],
      [[...base, '--train', join(tmp, 'missing.csv')], /--train .*missing\.csv: no such file/, 1],
      [[...base, '--train', xml], /unsupported format '\.xml' \(use \.csv, \.tsv, \.jsonl/, 1],
      [[...base, '--train', csv, '--config', 'pfeifer'], /'pfeifer'.*did you mean 'pfeiffer'/, 1],
      [[...base, '--dataset', 'spem'], /unknown embedded dataset \(did you mean 'spam'\?\)/, 1],
      [[...base, '--train', csv, '--tokenizer', big], /has \d+ ids but the model's vocabulary has 512/, 1],
      [['train', '--model', GOLDEN_BERT, '--train', csv, '--out', out], /no tokenizer: .* has no tokenizer\.json or vocab\.txt \(pass --tokenizer FILE\)/, 1],
      [[...base, '--train', csv, '--task', 'causal-lm'], /causal-lm needs a decoder model \(gpt2, llama, qwen2\)/, 1],
      [[...base, '--train', csv, '--epochs', 'many'], /--epochs expects an integer, got 'many'/, 2],
      [[...base, '--train', csv, '--task', 'clasification'], /--task must be one of .*did you mean 'classification'/, 2],
      [[...base, '--train', csv, '--max-length', '100'], /--max-length 100 exceeds the model's 64 positions/, 1],
      [[...base, '--train', csv, '--warmup-steps', '3', '--warmup-ratio', '0.1'], /give --warmup-steps or --warmup-ratio, not both/, 1],
      [[...base, '--train', csv, '--warmup-ratio', '1.5'], /--warmup-ratio must be below 1 \(a fraction of the training steps\), got 1\.5/, 1],
      [[...base, '--train', csv, '--warmup-ratio=-0.1'], /--warmup-ratio must be non-negative, got -0\.1/, 2],
      [['predict', '--model', model, '--adapter', join(tmp, 'nowhere'), 'x'], /--adapter .*nowhere: no such directory/, 1],
      [[...base, '--train', csv, '--config', 'lora[use_dora=True]'], /--config lora\[use_dora=True\]: adapter-transformers 3\.2\.1 and adapters 1\.1 would load the saved adapter as a different model \(lora use_dora=True: /, 1],
      [[...base, '--train', csv, '--resume'], /--resume: no checkpoint-<step> folder in .*never\/checkpoints to resume from/, 1],
      [[...base, '--train', csv, '--checkpoint-dir', join(tmp, 'no-checkpoints'), '--resume'], /--resume: no checkpoint-<step> folder in .*no-checkpoints to resume from/, 1],
    ];
    const runs: Awaited<ReturnType<typeof runMain>>[] = [];
    for (const [a] of cases) runs.push(await runMain(a));
    runs.forEach((r, i) => {
      expect(r.code, `${cases[i]![0].join(' ')}\n${r.stderr}`).toBe(cases[i]![2]);
      expect(errorLine(r.stderr)).toMatch(cases[i]![1]);
    });
    expect(existsSync(out)).toBe(false);
  });
});

describe('configs the AdapterHub libraries lack', () => {
  it('are refused before training, and with --adapterkit-only trained, saved and used', async () => {
    const out = join(tmp, 'dora');
    const refused = await runMain(['train', '--model', model, '--train', csv, '--config', 'lora[use_dora=True]', '--max-steps', '2', '--out', out]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('lora use_dora');
    expect(refused.stderr).toContain('give --adapterkit-only');
    expect(refused.stderr).not.toMatch(/train step/);
    expect(existsSync(out)).toBe(false);
    const r = await runMain(['train', '--model', model, '--train', csv, '--config', 'lora[use_dora=True]', '--max-steps', '2', '--adapterkit-only', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('--adapterkit-only: the saved adapter is for AdapterKit only (1 setting the AdapterHub libraries lack)');
    expect(JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8')).config).toMatchObject({ use_dora: true });
    const p = await runMain(['predict', '--model', model, '--adapter', out, 'great movie']);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^(pos|neg)\t[01]\.\d{4}\tgreat movie\n$/);
  });
});

describe('checkpoints', () => {
  it('a run killed (SIGKILL) after a checkpoint and re-run with --resume ends with the weights of an uninterrupted run', async () => {
    const run = ['train', '--model', model, '--train', csv, '--dev', csv, '--config', 'pfeiffer', '--name', 'reviews', '--max-steps', '150', '--batch-size', '4'];
    const hyper = ['--lr', '5e-3', '--warmup-steps', '10', '--weight-decay', '0.01', '--seed', '3'];
    const whole = join(tmp, 'ck-whole');
    const uninterrupted = await cli([...run, ...hyper, '--out', whole]);
    expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

    const out = join(tmp, 'ck-out');
    const ck = join(tmp, 'ck');
    const checkpointed = [...run, ...hyper, '--out', out, '--checkpoint-dir', ck, '--checkpoint-every', '10'];
    const checkpoints = (): string[] => (existsSync(ck) ? readdirSync(ck).filter((n) => /^checkpoint-\d+$/.test(n)) : []);
    const killed = await cli(checkpointed, { killWhen: () => checkpoints().length > 0 });
    expect(killed.signal, `the run ended before it was killed:\n${killed.stderr}`).toBe('SIGKILL');
    expect(existsSync(join(out, 'adapter.safetensors'))).toBe(false);
    const [at] = checkpoints();
    expect(Number(at!.slice('checkpoint-'.length))).toBeLessThan(150);

    const resumed = await cli([...checkpointed, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resuming from ${join(ck, at!)}`);
    expect(resumed.stderr).not.toMatch(/train step +1\/150/); // it continued, not started over
    expect(resumed.stdout).toMatch(/trained 150 steps/);
    for (const f of ['adapter.safetensors', 'model_head.safetensors']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(whole, f))), f).toBe(true);
    }
    const results = (dir: string): { eval_history: unknown; final: unknown } => JSON.parse(readFileSync(join(dir, 'train_results.json'), 'utf8'));
    expect(results(out).eval_history).toEqual(results(whole).eval_history);
    expect(results(out).final).toEqual(results(whole).final);
  });
});

describe('embedded data and pre-training', () => {
  it('trains on an embedded dataset', async () => {
    const r = await cli([
      'train', '--model', model, '--dataset', 'langid', '--config', 'pfeiffer[reduction_factor=2]', '--max-steps', '4', '--warmup-ratio', '0.5',
      '--batch-size', '4', '--max-length', '32', '--out', join(tmp, 'langid'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('4 steps of 4, lr 0.003 (2 warm-up steps, then linear decay)');
    expect(r.stdout).toMatch(/test \(\d+ examples\): loss \S+ {2}accuracy \S+ {2}f1 \S+/);
    // golden tiny BERT: hidden 32, 2 layers; Pfeiffer with reduction 2 = 2 × (32·16 + 16 + 16·32 + 32) = 2,144; head 32·32 + 32 + 32·10 + 10 = 1,386
    expect(r.stdout).toMatch(/trainable parameters: 3,530 = adapter 'langid' 2,144 \+ head 1,386 \(\d+\.\d\d % of the model's [\d,]+\)/);
    const results = JSON.parse(readFileSync(join(tmp, 'langid', 'train_results.json'), 'utf8'));
    expect(results.labels).toHaveLength(10);
    expect(results.hyperparameters.warmup_steps).toBe(2);
  });

  it('pre-trains a tiny BERT and writes a loadable model folder with a model card', async () => {
    const corpus = join(tmp, 'corpus.txt');
    writeFileSync(corpus, `${Array.from({ length: 40 }, (_, i) => `${POS[i % 8]} and ${NEG[(i * 3) % 8]} said ${NAMES[i % 4]}`).join('\n')}\n`);
    const out = join(tmp, 'pretrained');
    const r = await cli([
      'pretrain', '--corpus', corpus, '--out', out, '--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32',
      '--vocab-size', '120', '--max-length', '32', '--steps', '3', '--batch-size', '4',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/pre-trained 3 steps in \d+:\d\d; held-out \(2 texts\): loss \S+ {2}perplexity \S+/);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'README.md']) expect(existsSync(join(out, f)), f).toBe(true);
    const card = readFileSync(join(out, 'README.md'), 'utf8');
    expect(card).toMatch(/held-out MLM loss \| \*\*\d+\.\d{4}\*\*/);
    expect(card).toMatch(/held-out perplexity \| \*\*\d+\.\d{2}\*\*/);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'bert', hidden_size: 16, num_hidden_layers: 1, architectures: ['BertForMaskedLM'] });
    const [sum, fill] = await Promise.all([cli(['summary', '--model', out, '--config', 'pfeiffer']), cli(['predict', '--model', out, 'good [MASK]'])]);
    expect(sum.code, sum.stderr).toBe(0);
    expect(fill.code, fill.stderr).toBe(0);
    expect(fill.stdout).toMatch(/^good \S+\t/);
  });
});
