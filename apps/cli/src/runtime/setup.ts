import { Average, BatchSplit, Fuse, Parallel, Split, Stack, suggestNearest, type SetupNode } from '@adapterkit/core';
import { UsageError } from '../cli/errors';

const BLOCKS = ['Stack', 'Fuse', 'Split', 'BatchSplit', 'Parallel', 'Average'] as const;

/** Deepest nesting of composition blocks {@link parseSetup} accepts (bounds its stack use). */
const MAX_SETUP_DEPTH = 64;

type Arg = { kind: 'node'; node: SetupNode } | { kind: 'kw'; key: string; value: number[] };

/**
 * Parse an adapter setup as written on the command line: an adapter name, or a composition block with
 * children and keyword arguments, brackets or parentheses: `Stack[lang, task]`, `Fuse(a, b)`,
 * `Split[a, b, split_index=5]`, `BatchSplit[a, b, batch_sizes=[1, 1]]`, `Average[a, b, weights=[0.7, 0.3]]`,
 * nested as the blocks allow (`Stack[lang, Fuse[a, b]]`).
 *
 * @throws UsageError naming the position of a syntax error.
 */
export function parseSetup(text: string): SetupNode {
  let i = 0;
  let depth = 0;
  const shown = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  const fail = (msg: string): never => {
    throw new UsageError(`--setup '${shown}': ${msg} at position ${i + 1}`);
  };
  const WORD = /[^\s,[\]()=]+/y;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const word = (): string => {
    ws();
    WORD.lastIndex = i;
    const m = WORD.exec(text);
    if (!m) fail(i < text.length ? `unexpected '${text[i]}'` : 'unexpected end');
    i += m![0].length;
    return m![0];
  };
  const number = (): number => {
    const w = word();
    const n = Number(w);
    if (!Number.isFinite(n)) fail(`'${w}' is not a number`);
    return n;
  };
  const value = (): number[] => {
    ws();
    if (text[i] !== '[' && text[i] !== '(') return [number()];
    const close = text[i] === '[' ? ']' : ')';
    i++;
    const out: number[] = [];
    for (;;) {
      out.push(number());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === close) {
        i++;
        return out;
      } else fail(`expected ',' or '${close}'`);
    }
  };
  const node = (): SetupNode => {
    const name = word();
    ws();
    if (text[i] !== '[' && text[i] !== '(') return name;
    const close = text[i] === '[' ? ']' : ')';
    if (!(BLOCKS as readonly string[]).includes(name)) {
      const near = suggestNearest(name, BLOCKS);
      throw new UsageError(`--setup '${shown}': unknown block '${name.length > 80 ? `${name.slice(0, 80)}…` : name}'${near ? ` (did you mean '${near}'?)` : ''}; blocks: ${BLOCKS.join(', ')}`);
    }
    if (++depth > MAX_SETUP_DEPTH) fail(`blocks nested deeper than ${MAX_SETUP_DEPTH} levels`);
    i++;
    const args: Arg[] = [];
    for (;;) {
      ws();
      const save = i;
      const w = word();
      ws();
      if (text[i] === '=') {
        i++;
        args.push({ kind: 'kw', key: w, value: value() });
      } else {
        i = save;
        args.push({ kind: 'node', node: node() });
      }
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === close) {
        i++;
        break;
      } else fail(`expected ',' or '${close}'`);
    }
    depth--;
    return build(name as (typeof BLOCKS)[number], args, shown);
  };
  const result = node();
  ws();
  if (i < text.length) fail(`unexpected '${text[i]}'`);
  return result;
}

function build(block: (typeof BLOCKS)[number], args: readonly Arg[], text: string): SetupNode {
  const children = args.flatMap((a) => (a.kind === 'node' ? [a.node] : []));
  const kw = new Map(args.flatMap((a) => (a.kind === 'kw' ? [[a.key, a.value] as const] : [])));
  const allowed: Record<string, readonly string[]> = { Split: ['split_index', 'splits'], BatchSplit: ['batch_sizes'], Average: ['weights'] };
  for (const key of kw.keys()) {
    if (!(allowed[block] ?? []).includes(key)) {
      throw new UsageError(`--setup '${text}': ${block} takes no '${key}'${allowed[block] ? ` (it takes ${allowed[block]!.join(' or ')})` : ''}`);
    }
  }
  const need = (key: string): number[] => {
    const v = kw.get(key) ?? (key === 'split_index' ? kw.get('splits') : undefined);
    if (!v) throw new UsageError(`--setup '${text}': ${block} needs ${key}=…`);
    return v;
  };
  switch (block) {
    case 'Stack':
      return Stack(...children);
    case 'Fuse':
      return Fuse(...children);
    case 'Parallel':
      return Parallel(...children);
    case 'Split': {
      const idx = need('split_index');
      return Split(...children, idx.length === 1 ? idx[0]! : idx);
    }
    case 'BatchSplit':
      return BatchSplit(...children, need('batch_sizes'));
    case 'Average':
      return Average(children, kw.get('weights'));
  }
}
