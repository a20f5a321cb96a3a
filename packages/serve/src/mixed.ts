import * as tf from '@tensorflow/tfjs-core';
import { adapterNames, BatchSplit, CapabilityError, formatSetup, type AdapterModel, type ModelInputs, type ModelOutputs, type SetupNode } from '@adapterkit/core';
import { getHeads, type PredictionHead } from '@adapterkit/training';
import { rowHeadLogits } from './row-heads';

/** One sequence of a mixed batch. */
export interface MixedRow {
  /** The adapter setup of this row (`null`: the bare base model). */
  readonly setup: SetupNode | null;
  /** Token ids, unpadded. */
  readonly inputIds: readonly number[];
  /** 0/1 per token (default all 1). */
  readonly attentionMask?: readonly number[];
  readonly tokenTypeIds?: readonly number[];
  /** `'logits'`: only the logits are wanted (the hidden states are not copied out; `lastHiddenState` is empty). */
  readonly outputs?: 'all' | 'logits';
}

/** What one row gets back, restricted to its own (unpadded) length. */
export interface MixedRowResult {
  /** `[seq, hidden]` */
  readonly lastHiddenState: number[][];
  /** `[hidden]`, BERT family. */
  readonly poolerOutput?: number[];
  /** The head of the setup's last adapter (when it has one): `[numLabels]` (sequence heads) or `[seq, n]`; else the host's LM logits `[seq, vocab]`. */
  readonly logits?: number[] | number[][];
  /** The head's type, when the logits come from an adapter's head. */
  readonly headType?: string;
  /** The head's label names by id (from its `label2id`), when it has them. */
  readonly labels?: readonly string[];
}

/** Options of {@link mixedForward}. */
export interface MixedForwardOptions {
  /** Compute the host's LM logits for rows without a head (decoder hosts). Default false. */
  readonly lmLogits?: boolean;
  /** Group rows into one BatchSplit forward (default true); false runs one forward per distinct setup. */
  readonly mixed?: boolean;
  /** Called once per forward run with its row count and number of distinct setups. */
  readonly onForward?: (rows: number, setups: number) => void;
}

/** The name of the last adapter of a setup (the one whose head answers for it, as the reference's Stack heads). */
export function lastAdapter(setup: SetupNode): string {
  return typeof setup === 'string' ? setup : lastAdapter(setup.children[setup.children.length - 1]!);
}

/**
 * Bottleneck-config fields that decide what a bottleneck BatchSplit does to *every* row: the reference's
 * `adapter_batchsplit` runs the pre/post-forward (residual, original LayerNorms) of the block's first adapter on the
 * whole batch, at the sites where any child has a module. Rows of setups that differ in these can therefore not
 * share a BatchSplit and stay exactly what they compute alone.
 */
const SHARED_BOTTLENECK_FIELDS = ['mhAdapter', 'outputAdapter', 'originalLnBefore', 'originalLnAfter', 'isParallel', 'residualBeforeLn', 'invAdapter', 'crossAdapter', 'leaveOut'] as const;

/**
 * Which setups may share one BatchSplit forward and still give each row exactly its own result: setups without
 * bottleneck-family members (LoRA, (IA)³, prefix tuning and Stacks of them: their row routing runs each child's own
 * chain on its rows) all combine; single bottleneck adapters (or unions containing one) combine when their
 * `SHARED_BOTTLENECK_FIELDS` agree; a composition containing bottleneck adapters runs alone (a nested Stack
 * re-applies pre-forward on the block's already pre-processed input, as the reference's nested calls do).
 */
export function batchSignature(model: AdapterModel, setup: SetupNode): string {
  const members = adapterNames(setup).flatMap((n) => model.requireAdapter(n).members);
  const bottleneck = members.filter((m) => m.method.name === 'bottleneck');
  if (bottleneck.length === 0) return 'routed';
  if (typeof setup !== 'string') return `alone:${formatSetup(setup)}`;
  return `bottleneck:${JSON.stringify(bottleneck.map((m) => SHARED_BOTTLENECK_FIELDS.map((f) => m.config[f] ?? null)))}`;
}

interface Group {
  readonly setup: SetupNode | null;
  readonly rows: number[];
}

function pad(rows: readonly MixedRow[], order: readonly number[], width: number, pick: (r: MixedRow) => readonly number[] | undefined, fill: number): tf.Tensor2D {
  const data = new Int32Array(order.length * width);
  order.forEach((ri, k) => {
    const v = pick(rows[ri]!);
    const n = rows[ri]!.inputIds.length;
    for (let j = 0; j < width; j++) data[k * width + j] = j < n ? (v ? v[j]! : fill) : 0;
  });
  return tf.tensor2d(data, [order.length, width], 'int32');
}

function rowsOf<T extends tf.Tensor>(t: T, start: number, size: number): T {
  return tf.slice(t, t.shape.map((_, i) => (i === 0 ? start : 0)), t.shape.map((d, i) => (i === 0 ? size : d))) as T;
}

/**
 * One forward of the base model for rows that name different adapter setups: rows are grouped by setup (stable
 * order), the groups' rows are laid out contiguously, right-padded to the longest row with attention mask 0, and
 * run under `BatchSplit(setup_1, …, setup_k, [n_1, …, n_k])` — core's row routing, which every method with a
 * BatchSplit implementation (bottleneck, LoRA/IA³, prefix tuning, union) honours per site. Each group's head runs
 * on its rows. Outputs are unsorted back to the callers' order and cut to each row's own length, so row i equals
 * what `setup_i` alone computes on row i alone (up to float rounding) on its valid positions.
 *
 * Only setups of equal {@link batchSignature} share a forward (others would get the reference's block-wide
 * bottleneck pre/post-forward); rows of the bare base model (`setup: null`) run in a forward of their own (a
 * BatchSplit child cannot be empty), and when setups cannot be combined at all (a method without BatchSplit
 * support, e.g. prompt tuning), each group runs alone. The adapters must be loaded; the model's active setup is changed.
 *
 * @returns one result per row, in the order of `rows`.
 */
export function mixedForward(model: AdapterModel, rows: readonly MixedRow[], options: MixedForwardOptions = {}): MixedRowResult[] {
  const byKey = new Map<string, Group>();
  rows.forEach((r, i) => {
    const key = r.setup === null ? '\0null' : formatSetup(r.setup);
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { setup: r.setup, rows: [] }));
    g.rows.push(i);
  });
  const groups = [...byKey.values()];
  const adapterGroups = groups.filter((g) => g.setup !== null);
  const runs: Group[][] = [];
  for (const g of groups) if (g.setup === null) runs.push([g]);
  if (options.mixed === false) runs.push(...adapterGroups.map((g) => [g]));
  else {
    const bySignature = new Map<string, Group[]>();
    for (const g of adapterGroups) {
      const sig = batchSignature(model, g.setup!);
      const list = bySignature.get(sig);
      if (list) list.push(g);
      else bySignature.set(sig, [g]);
    }
    runs.push(...bySignature.values());
  }
  const results: MixedRowResult[] = new Array(rows.length);
  for (const run of runs) {
    try {
      runGroups(model, rows, run, options, results);
    } catch (err) {
      if (!(err instanceof CapabilityError) || run.length === 1) throw err;
      for (const g of run) runGroups(model, rows, [g], options, results);
    }
  }
  return results;
}

function runGroups(model: AdapterModel, rows: readonly MixedRow[], groups: readonly Group[], options: MixedForwardOptions, results: MixedRowResult[]): void {
  const setups = groups.map((g) => g.setup);
  if (setups[0] === null) model.setActiveAdapters(null);
  else if (groups.length === 1) model.setActiveAdapters(setups[0]!);
  else model.setActiveAdapters(BatchSplit(...(setups as SetupNode[]), groups.map((g) => g.rows.length)));
  const order = groups.flatMap((g) => g.rows);
  options.onForward?.(order.length, groups.length);
  const width = Math.max(...order.map((i) => rows[i]!.inputIds.length));
  const registry = getHeads(model);
  const heads = groups.map((g) => {
    const name = g.setup === null ? undefined : lastAdapter(g.setup);
    return name !== undefined && registry.has(name) ? registry.require(name) : undefined;
  });
  const sizes = groups.map((g) => g.rows.length);
  const withTypes = order.some((i) => rows[i]!.tokenTypeIds !== undefined);
  const needHidden = order.some((i) => rows[i]!.outputs !== 'logits');
  // Everything is read back once per batch where possible (one hidden-state read, one logits read), and the
  // groups' classification heads run as one per-row pass (rowHeadLogits) instead of one slice + head per group.
  const computed = tf.tidy(() => {
    const inputs: ModelInputs = {
      inputIds: pad(rows, order, width, (r) => r.inputIds, 0),
      attentionMask: pad(rows, order, width, (r) => r.attentionMask, 1),
      ...(withTypes ? { tokenTypeIds: pad(rows, order, width, (r) => r.tokenTypeIds, 0) } : {}),
    };
    const out: ModelOutputs = model.forward(inputs, { lmLogits: options.lmLogits ?? false });
    const all = heads.every((h): h is PredictionHead => h !== undefined) && groups.length > 1 ? rowHeadLogits(heads, sizes, out) : undefined;
    let logits: tf.Tensor | Array<tf.Tensor | undefined> | undefined = all;
    if (!all) {
      if (heads.every((h) => h === undefined)) logits = out.logits;
      else {
        let start = 0;
        logits = groups.map((_, gi) => {
          const size = sizes[gi]!;
          const head = heads[gi];
          const part = {
            lastHiddenState: rowsOf(out.lastHiddenState, start, size),
            ...(out.poolerOutput ? { poolerOutput: rowsOf(out.poolerOutput, start, size) } : {}),
            ...(out.logits ? { logits: rowsOf(out.logits, start, size) } : {}),
          };
          start += size;
          return head ? head.forward(part) : part.logits;
        });
      }
    }
    return { hidden: needHidden ? out.lastHiddenState : undefined, pooler: needHidden ? out.poolerOutput : undefined, logits };
  });
  try {
    const hidden = computed.hidden?.arraySync() as number[][][] | undefined;
    const pooler = computed.pooler?.arraySync() as number[][] | undefined;
    type Logits = number[] | number[][];
    let rowLogits: (k: number, gi: number, kInGroup: number) => Logits | undefined;
    if (Array.isArray(computed.logits)) {
      const perGroup = computed.logits.map((t) => t?.arraySync() as Logits[] | undefined);
      rowLogits = (_k, gi, kInGroup) => perGroup[gi]?.[kInGroup];
    } else {
      const whole = computed.logits?.arraySync() as Logits[] | undefined;
      rowLogits = (k) => whole?.[k];
    }
    const labelsOf = heads.map((head) => {
      if (!head) return undefined;
      const labels: string[] = [];
      for (const [k, v] of Object.entries(head.config.label2id ?? {})) labels[v] = k;
      return labels;
    });
    let k = 0;
    groups.forEach((g, gi) => {
      const head = heads[gi];
      g.rows.forEach((ri, kInGroup) => {
        const row = rows[ri]!;
        const n = row.inputIds.length;
        const l = rowLogits(k, gi, kInGroup);
        const wantHidden = hidden !== undefined && row.outputs !== 'logits';
        results[ri] = {
          lastHiddenState: wantHidden ? hidden[k]!.slice(0, n) : [],
          ...(pooler && wantHidden ? { poolerOutput: pooler[k]! } : {}),
          ...(l !== undefined ? { logits: Array.isArray(l[0]) ? (l as number[][]).slice(0, n) : (l as number[]) } : {}),
          ...(head ? { headType: head.config.headType, labels: labelsOf[gi]! } : {}),
        };
        k++;
      });
    });
  } finally {
    const { hidden, pooler, logits } = computed;
    tf.dispose([hidden, pooler, ...(Array.isArray(logits) ? logits : [logits])].filter((t): t is tf.Tensor => t !== undefined));
  }
}
