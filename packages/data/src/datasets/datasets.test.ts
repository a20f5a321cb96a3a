import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  batches,
  InMemoryDataset,
  LabelMap,
  parseCsv,
  readCsv,
  readJsonl,
  readLines,
  splitDataset,
  streamBatches,
  streamCsv,
  streamJsonl,
  type TextExample,
} from '../index';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'adapterkit-data-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function file(name: string, content: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, content);
  return path;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('CSV (RFC 4180)', () => {
  it('parses quoted fields with delimiters, doubled quotes, line breaks, CRLF and empty fields', () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""","line1\nline2"\r\n,,\n"",plain,"last"\n\nend,1,2';
    expect(parseCsv(text)).toEqual([
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['x, y', 'say "hi"', 'line1\nline2'], line: 2 },
      { fields: ['', '', ''], line: 4 },
      { fields: ['', 'plain', 'last'], line: 5 },
      { fields: ['end', '1', '2'], line: 7 },
    ]);
    expect(parseCsv('a\tb\n1\t"2\t3"', { delimiter: '\t' }).map((r) => r.fields)).toEqual([['a', 'b'], ['1', '2\t3']]);
  });

  it('reports syntax errors with file, line and column', () => {
    expect(() => parseCsv('a,b\nab"c,d', { source: 'f.csv' })).toThrow('f.csv:2:3: quote inside an unquoted field');
    expect(() => parseCsv('a,b\n"ab"c,d', { source: 'f.csv' })).toThrow('f.csv:2:5: unexpected "c" after the closing quote of the field opened at line 2, column 1');
    expect(() => parseCsv('a,b\n1,"open\nstill open', { source: 'f.csv' })).toThrow('f.csv:2:3: quoted field is never closed');
  });

  it('reads examples by column name, streaming, with errors that list the available columns', async () => {
    const path = await file('data.csv', '\uFEFFid,sentence,label\n1,"Great, really great",pos\n2,"Bad ""very"" bad",neg\n');
    const ds = await readCsv(path, { textColumn: 'sentence', idColumn: 'id' });
    expect(ds.toArray()).toEqual([
      { id: '1', text: 'Great, really great', label: 'pos' },
      { id: '2', text: 'Bad "very" bad', label: 'neg' },
    ]);
    expect(await collect(streamCsv(path, { textColumn: 'sentence', labelColumn: null }))).toEqual([{ text: 'Great, really great' }, { text: 'Bad "very" bad' }]);
    await expect(readCsv(path, { textColumn: 'text' })).rejects.toThrow(`${path}: textColumn "text" is not a column (available: "id", "sentence", "label")`);
    const ragged = await file('ragged.csv', 'text,label\nfine,1\nbroken\n');
    await expect(readCsv(ragged)).rejects.toThrow(`${ragged}:3: record has 1 fields, the header has 2`);
    const noHeader = await file('nohead.csv', 'hello,1\n');
    expect((await readCsv(noHeader, { header: false, textColumn: '0', labelColumn: '1' })).toArray()).toEqual([{ text: 'hello', label: '1' }]);
  });
});

describe('JSONL', () => {
  it('reads text, pair, label and id fields; skips blank lines; keeps numeric labels', async () => {
    const path = await file('d.jsonl', '{"premise":"A man","hypothesis":"A person","gold":1,"uid":7}\n\n{"premise":"B","hypothesis":"C","gold":0,"uid":8}\r\n');
    const ds = await readJsonl(path, { textColumn: 'premise', textPairColumn: 'hypothesis', labelColumn: 'gold', idColumn: 'uid' });
    expect(ds.toArray()).toEqual([
      { text: 'A man', textPair: 'A person', label: 1, id: '7' },
      { text: 'B', textPair: 'C', label: 0, id: '8' },
    ]);
  });

  it('reports bad JSON with line and column, and missing fields with the fields present', async () => {
    const bad = await file('bad.jsonl', '{"text":"ok","label":"a"}\n{"text": "x", oops}\n');
    await expect(readJsonl(bad)).rejects.toThrow(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:15: invalid JSON`));
    const missing = await file('missing.jsonl', '{"text":"ok","label":"a"}\n{"txt":"x","label":"b"}\n');
    await expect(collect(streamJsonl(missing))).rejects.toThrow(`${missing}:2: no field "text" (available: "txt", "label")`);
    const notText = await file('num.jsonl', '{"text":5,"label":"a"}\n');
    await expect(readJsonl(notText)).rejects.toThrow(`${notText}:1: textColumn "text" must be a string, got number`);
    const arr = await file('arr.jsonl', '[1,2]\n');
    await expect(readJsonl(arr)).rejects.toThrow(`${arr}:1: expected a JSON object, got an array`);
  });

  it('streams lines of large files lazily', async () => {
    const path = await file('big.txt', Array.from({ length: 5000 }, (_, i) => `line ${i}`).join('\n'));
    let n = 0;
    for await (const { line, lineNumber } of readLines(path)) {
      expect(line).toBe(`line ${lineNumber - 1}`);
      if (++n === 3) break;
    }
    const jsonl = await file('stream.jsonl', Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `t${i}`, label: i % 2 })).join('\n'));
    const sizes = (await collect(streamBatches(streamJsonl(jsonl), { batchSize: 4 }))).map((b) => b.length);
    expect(sizes).toEqual([4, 4, 2]);
  });
});

describe('splits, batches and label maps', () => {
  const data: TextExample[] = Array.from({ length: 100 }, (_, i) => ({ id: `ex${i}`, text: `text ${i}`, label: i % 4 === 0 ? 'a' : 'b' }));

  it('splits 80/10/10 deterministically for a seed, disjoint and complete', () => {
    const s = splitDataset(data, { seed: 42 });
    expect([s.train.length, s.dev.length, s.test.length]).toEqual([80, 10, 10]);
    expect(s.train.toArray().slice(0, 3).map((x) => x.id)).toEqual(['ex99', 'ex53', 'ex7']);
    expect(s.dev.toArray().slice(0, 3).map((x) => x.id)).toEqual(['ex38', 'ex0', 'ex94']);
    expect(s.test.toArray().slice(0, 3).map((x) => x.id)).toEqual(['ex42', 'ex79', 'ex58']);
    const again = splitDataset(data, { seed: 42 });
    expect(again.test.toArray()).toEqual(s.test.toArray());
    expect(splitDataset(data, { seed: 7 }).test.toArray()).not.toEqual(s.test.toArray());
    const ids = [...s.train, ...s.dev, ...s.test].map((x) => x.id).sort();
    expect(ids).toEqual(data.map((x) => x.id).sort());
  });

  it('stratifies by label and validates fractions', () => {
    const s = splitDataset(data, { train: 0.6, dev: 0.2, test: 0.2, seed: 1, stratify: (x) => x.label });
    const count = (ds: Iterable<TextExample>) => [...ds].filter((x) => x.label === 'a').length;
    expect([count(s.train), count(s.dev), count(s.test)]).toEqual([15, 5, 5]);
    expect([s.train.length, s.dev.length, s.test.length]).toEqual([60, 20, 20]);
    expect(() => splitDataset(data, { train: 0.9, dev: 0.2 })).toThrow(/sum to 1/);
    expect(splitDataset(data, { train: 0.9, test: 0.1 }).dev.length).toBe(0);
  });

  it('batches in order or in a seeded per-epoch shuffle, with dropLast', () => {
    const ds = new InMemoryDataset(Array.from({ length: 10 }, (_, i) => i));
    expect([...batches(ds, { batchSize: 4 })]).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect([...batches(ds, { batchSize: 4, dropLast: true })].length).toBe(2);
    const e0 = [...batches(ds, { batchSize: 5, shuffle: true, seed: 3 })].flat();
    expect(e0).toEqual([...batches(ds, { batchSize: 5, shuffle: true, seed: 3 })].flat());
    expect([...batches(ds, { batchSize: 5, shuffle: true, seed: 3, epoch: 1 })].flat()).not.toEqual(e0);
    expect([...e0].sort((a, b) => a - b)).toEqual(ds.toArray());
    expect(() => [...batches(ds, { batchSize: 0 })]).toThrow(/positive integer/);
  });

  it('maps labels to ids and back, and saves id2label', async () => {
    const m = LabelMap.fromLabels(['spam', 'ham', 'spam']);
    expect(m.names).toEqual(['ham', 'spam']);
    expect([m.id('spam'), m.label(0), m.size]).toEqual([1, 'ham', 2]);
    expect(() => m.id('eggs')).toThrow('unknown label "eggs" (known: "ham", "spam")');
    expect(LabelMap.fromLabels([10, 2, 1]).names).toEqual(['1', '2', '10']);
    const path = join(tmp, 'labels.json');
    await m.save(path);
    expect((await LabelMap.load(path)).names).toEqual(['ham', 'spam']);
    expect(m.toJSON()).toEqual({ id2label: { 0: 'ham', 1: 'spam' }, label2id: { ham: 0, spam: 1 } });
  });

  it('InMemoryDataset helpers return new datasets', () => {
    const ds = new InMemoryDataset(['a', 'b', 'c', 'd']);
    expect(ds.map((x) => x.toUpperCase()).toArray()).toEqual(['A', 'B', 'C', 'D']);
    expect(ds.filter((_, i) => i % 2 === 0).toArray()).toEqual(['a', 'c']);
    expect(ds.select([3, 0]).toArray()).toEqual(['d', 'a']);
    expect(ds.at(-1)).toBe('d');
    expect(() => ds.at(4)).toThrow('index 4 is out of range for a dataset of 4 examples');
    expect(ds.shuffle(5).toArray()).toEqual(ds.shuffle(5).toArray());
    expect(ds.length).toBe(4);
  });
});
