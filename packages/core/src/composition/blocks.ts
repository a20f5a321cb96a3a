import { AdapterConfigError, AdapterStateError } from '../errors';

/** Kinds of composition block, as in the reference (`adapters` adds Average). */
export type BlockType = 'Stack' | 'Fuse' | 'Split' | 'BatchSplit' | 'Parallel' | 'Average';

/** A node of an adapter setup: an adapter name or a block. */
export type SetupNode = string | CompositionBlock;

/** A composition block: an ordered list of children plus block-specific options. */
export interface CompositionBlock {
  readonly type: BlockType;
  readonly children: readonly SetupNode[];
  /** Split: sequence positions per child (reference `split_index` = `[k]` for two children). */
  readonly splits?: readonly number[];
  /** BatchSplit: rows per child. */
  readonly batchSizes?: readonly number[];
  /** Average: weights per child (normalised to sum 1 unless `normalizeWeights` is false). */
  readonly weights?: readonly number[];
  readonly normalizeWeights?: boolean;
}

/** Which child kinds each block accepts (the reference's nesting rules, `adapters` flavour). */
export const ALLOWED_CHILDREN: Readonly<Record<BlockType, readonly (BlockType | 'name')[]>> = {
  Stack: ['name', 'Fuse', 'Split', 'Parallel', 'BatchSplit', 'Average'],
  Fuse: ['name', 'Stack'],
  Split: ['name', 'Split', 'Stack', 'BatchSplit', 'Average'],
  Parallel: ['name', 'Stack', 'BatchSplit', 'Average'],
  BatchSplit: ['name', 'Stack', 'Split', 'BatchSplit', 'Average'],
  Average: ['name', 'Stack', 'Split', 'BatchSplit'],
};

function block(type: BlockType, children: SetupNode[], extra: Partial<CompositionBlock> = {}): CompositionBlock {
  if (children.length === 0) throw new AdapterConfigError('EMPTY_BLOCK', `${type}() needs at least one child`);
  return Object.freeze({ type, children: Object.freeze(children.map(normalizeNode)), ...extra });
}

/** Adapters applied one after another: `Stack('lang', 'task')`. */
export function Stack(...children: SetupNode[]): CompositionBlock {
  return block('Stack', children);
}

/** AdapterFusion over the children's outputs: `Fuse('a', 'b')`. */
export function Fuse(...children: SetupNode[]): CompositionBlock {
  return block('Fuse', children);
}

/**
 * Split the sequence between children. `Split('a', 'b', 5)` sends positions `[0,5)` to `a` and `[5,S)` to `b`
 * (the reference's `split_index`); `Split('a','b','c', [4, 4])` gives the first two their lengths, the rest to the last.
 */
export function Split(...args: [...SetupNode[], number | number[]]): CompositionBlock {
  const last = args[args.length - 1];
  if (typeof last !== 'number' && !Array.isArray(last)) {
    throw new AdapterConfigError('BAD_SPLIT', 'Split(...children, splitIndex) needs a split index as its last argument');
  }
  const children = args.slice(0, -1) as SetupNode[];
  const splits = typeof last === 'number' ? [last] : last;
  if (splits.length !== children.length - 1) {
    throw new AdapterConfigError('BAD_SPLIT', `Split of ${children.length} children needs ${children.length - 1} split sizes, got ${splits.length}`);
  }
  return block('Split', children, { splits: Object.freeze([...splits]) });
}

/** Route consecutive batch rows to the children: `BatchSplit('a', 'b', [1, 1])`. */
export function BatchSplit(...args: [...SetupNode[], number | number[]]): CompositionBlock {
  const last = args[args.length - 1];
  if (typeof last !== 'number' && !Array.isArray(last)) {
    throw new AdapterConfigError('BAD_BATCH_SPLIT', 'BatchSplit(...children, batchSizes) needs batch sizes as its last argument');
  }
  const children = args.slice(0, -1) as SetupNode[];
  const sizes = typeof last === 'number' ? children.map(() => last) : last;
  if (sizes.length !== children.length) {
    throw new AdapterConfigError('BAD_BATCH_SPLIT', `BatchSplit of ${children.length} children needs ${children.length} batch sizes, got ${sizes.length}`);
  }
  return block('BatchSplit', children, { batchSizes: Object.freeze([...sizes]) });
}

/** Run the children side by side on a replicated batch (output batch × n). */
export function Parallel(...children: SetupNode[]): CompositionBlock {
  return block('Parallel', children);
}

/** Weighted average of the children's outputs. */
export function Average(children: SetupNode[], weights?: number[], normalizeWeights = true): CompositionBlock {
  if (weights && weights.length !== children.length) {
    throw new AdapterConfigError('BAD_AVERAGE', `Average of ${children.length} children needs ${children.length} weights, got ${weights.length}`);
  }
  const w = weights ?? children.map(() => 1);
  const sum = w.reduce((a, b) => a + b, 0);
  return block('Average', children, {
    weights: Object.freeze(normalizeWeights ? w.map((x) => x / sum) : [...w]),
    normalizeWeights,
  });
}

/** Is this node a block (rather than an adapter name)? */
export function isBlock(node: unknown): node is CompositionBlock {
  return typeof node === 'object' && node !== null && 'type' in node && 'children' in node;
}

/**
 * Normalise user input into a setup node: a string stays a name (`"a,b"` is not split), an array is a Stack
 * (the reference's list shorthand), and a nested array inside a list is a Fuse (legacy `[["a","b"]]`).
 */
export function normalizeNode(node: SetupNode | readonly unknown[]): SetupNode {
  if (typeof node === 'string') {
    if (node.length === 0) throw new AdapterConfigError('BAD_SETUP', 'An adapter name in a setup is empty');
    return node;
  }
  if (Array.isArray(node)) {
    return Stack(...node.map((c) => (Array.isArray(c) ? Fuse(...(c as SetupNode[])) : (c as SetupNode))));
  }
  if (isBlock(node)) return node;
  throw new AdapterConfigError('BAD_SETUP', `Not an adapter setup: ${JSON.stringify(node)}`);
}

/** Normalise an adapter setup to a top-level Stack (a bare name becomes `Stack(name)`). */
export function toSetup(setup: SetupNode | readonly unknown[]): CompositionBlock {
  const node = normalizeNode(setup);
  return typeof node === 'string' || node.type !== 'Stack' ? Stack(node) : node;
}

/** Every adapter name in a setup, depth-first, in order, without duplicates. */
export function adapterNames(node: SetupNode): string[] {
  const out: string[] = [];
  const walk = (n: SetupNode): void => {
    if (typeof n === 'string') {
      if (!out.includes(n)) out.push(n);
    } else n.children.forEach(walk);
  };
  walk(node);
  return out;
}

/** The first adapter of a setup (the reference's `first()`, which supplies the invertible adapter). */
export function firstAdapter(node: SetupNode): string {
  return typeof node === 'string' ? node : firstAdapter(node.children[0]!);
}

/** The last adapter of a setup (the reference's `last()`). */
export function lastAdapter(node: SetupNode): string {
  return typeof node === 'string' ? node : lastAdapter(node.children[node.children.length - 1]!);
}

/**
 * Number of parallel channels of a setup: the child count of its Parallel block (1 without one). Under a Parallel
 * setup the model replicates the batch this many times at the embeddings output, so every hook point sees
 * `channels × batch` rows, channel i being rows `[i·batch, (i+1)·batch)`; the reference replicates at the first
 * adapter layer instead, which gives the same numbers (rows before it are identical copies). Throws
 * AdapterConfigError when a setup has Parallel blocks of different widths.
 */
export function parallelChannels(node: SetupNode): number {
  let channels = 1;
  const walk = (n: SetupNode): void => {
    if (typeof n === 'string') return;
    if (n.type === 'Parallel') {
      if (channels !== 1 && channels !== n.children.length) {
        throw new AdapterConfigError('BAD_PARALLEL', `A setup cannot hold Parallel blocks of different widths (${channels} and ${n.children.length} channels)`);
      }
      channels = n.children.length;
    }
    n.children.forEach(walk);
  };
  walk(node);
  return channels;
}

/**
 * How many consecutive batch rows each child of a row-routing block gets at a hook point: BatchSplit's
 * `batchSizes` (which must add up to `batch`), or for Parallel `batch / children` per channel (the batch is
 * replicated per channel at the embeddings output). Throws AdapterStateError naming the point and layer when the
 * rows do not fit. Shared by every method that implements BatchSplit/Parallel, so they agree on routing and errors.
 */
export function blockRowSizes(block: CompositionBlock, batch: number, at: { readonly point: string; readonly layer: number }): readonly number[] {
  if (block.type === 'BatchSplit') {
    const sizes = block.batchSizes ?? [];
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== batch) {
      throw new AdapterStateError('BAD_BATCH_SPLIT', `BatchSplit batch_sizes [${sizes.join(', ')}] add up to ${total}, but the batch at '${at.point}' (layer ${at.layer}) has ${batch} rows`);
    }
    return sizes;
  }
  if (block.type === 'Parallel') {
    const n = block.children.length;
    if (batch % n !== 0) throw new AdapterStateError('BAD_PARALLEL_BATCH', `Parallel of ${n} channels at '${at.point}' (layer ${at.layer}) got ${batch} rows, not a multiple of ${n}`);
    return block.children.map(() => batch / n);
  }
  throw new AdapterStateError('NOT_A_ROW_BLOCK', `blockRowSizes: a ${block.type} block does not route batch rows (only BatchSplit and Parallel do)`);
}

/** Check the nesting rules; throws AdapterConfigError naming the offending child. */
export function validateSetup(node: SetupNode): void {
  if (typeof node === 'string') return;
  for (const child of node.children) {
    const kind = typeof child === 'string' ? 'name' : child.type;
    if (!ALLOWED_CHILDREN[node.type].includes(kind)) {
      throw new AdapterConfigError(
        'BAD_NESTING',
        `${node.type} cannot contain ${kind === 'name' ? 'an adapter name' : kind} (allowed: ${ALLOWED_CHILDREN[node.type].join(', ')})`,
      );
    }
    validateSetup(child);
  }
}

/** Human-readable form: `Stack[lang, task]`, `Fuse[a, b]`. */
export function formatSetup(node: SetupNode): string {
  if (typeof node === 'string') return node;
  return `${node.type}[${node.children.map(formatSetup).join(', ')}]`;
}
