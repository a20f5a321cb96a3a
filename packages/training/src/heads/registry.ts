import type * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, Rng, type AdapterModel, type CompositionBlock, type SetupNode } from '@adapterkit/core';
import { defaultLabel2id, isLmHead, labelCount, validateHeadConfig, type HeadConfig } from './config';
import { PredictionHead } from './head';

/**
 * Which head(s) a forward pass uses (the reference's `active_head`):
 * - `single`: one head on the whole output;
 * - `list`: every head on the whole output (no combined loss);
 * - `parallel`: the output batch was replicated by a Parallel setup; head i gets replica i, losses are summed;
 * - `batchSplit`: head i gets the rows of child i of a BatchSplit setup, losses are summed.
 */
export interface HeadSetup {
  readonly kind: 'single' | 'list' | 'parallel' | 'batchSplit';
  readonly names: readonly string[];
  readonly batchSizes?: readonly number[];
}

/** Options when adding a head. */
export interface AddHeadOptions {
  /** Replace an existing head of the same name (default false: throw). */
  readonly overwriteOk?: boolean;
  /** Make it the active head (default true, as the reference). */
  readonly setActive?: boolean;
  /** Seed of the head's initialisation (default: drawn from the registry's stream). */
  readonly seed?: number;
}

function lastName(node: SetupNode): string {
  return typeof node === 'string' ? node : lastName(node.children[node.children.length - 1]!);
}

/**
 * The reference's `parse_heads_from_composition`: the head setup implied by an adapter setup — the last adapter of
 * a Stack, one head per child of a Parallel or BatchSplit; undefined for other blocks.
 */
export function headsFromComposition(setup: CompositionBlock): HeadSetup | undefined {
  let node: SetupNode = setup;
  if (typeof node !== 'string' && node.type === 'Stack') node = node.children[node.children.length - 1]!;
  if (typeof node === 'string') return { kind: 'single', names: [node] };
  if (node.type === 'Parallel') return { kind: 'parallel', names: node.children.map(lastName) };
  if (node.type === 'BatchSplit') return { kind: 'batchSplit', names: node.children.map(lastName), batchSizes: node.batchSizes ?? [] };
  return undefined;
}

/**
 * The prediction heads of one {@link AdapterModel}, kept beside the model (core stays head-free): get it with
 * {@link getHeads}. Mirrors the reference's flex-head mixin: add/delete heads, an active head that follows
 * `setActiveAdapters` (a head named like the last adapter of the new setup becomes active when it exists), and
 * all heads trainable.
 *
 * Heads are freed with the model (`model.dispose()`), or earlier with {@link disposeHeads}.
 */
export class HeadRegistry {
  private readonly heads = new Map<string, PredictionHead>();
  private explicit: HeadSetup | undefined;
  private seenSetup: CompositionBlock | undefined;
  private readonly rng = new Rng(0x4ead);

  constructor(readonly model: AdapterModel) {
    this.seenSetup = model.activeAdapters;
  }

  /** Build and register a head from a config (see {@link build} and {@link register}). */
  create(name: string, config: HeadConfig, options: AddHeadOptions = {}): PredictionHead {
    this.checkName(name, options.overwriteOk);
    const head = this.build(name, config, options.seed);
    this.register(head, options);
    return head;
  }

  /**
   * Build a head without registering it (loaders assign weights first, so a failed load leaves the model
   * unchanged). The config is validated; classification/tagging/multiple-choice heads without a label map get the
   * reference's `LABEL_<i>` map (one entry per label or choice).
   */
  build(name: string, config: HeadConfig, seed?: number): PredictionHead {
    if (!/^[^.\s]+$/.test(name)) throw new AdapterStateError('BAD_HEAD_NAME', `Head name '${name}' is invalid: it must be non-empty without '.' or spaces`);
    const full: HeadConfig =
      config.label2id === null && !isLmHead(config.headType) ? { ...config, label2id: defaultLabel2id(labelCount(config)!) } : config;
    validateHeadConfig(full, `head '${name}'`);
    return new PredictionHead(name, full, this.model.host, new Rng(seed ?? Math.floor(this.rng.next() * 2 ** 32)));
  }

  /** Register a built head (replacing one of the same name only with `overwriteOk`); makes it active unless `setActive: false`. */
  register(head: PredictionHead, options: AddHeadOptions = {}): void {
    try {
      this.checkName(head.name, options.overwriteOk);
    } catch (err) {
      head.dispose();
      throw err;
    }
    this.heads.get(head.name)?.dispose();
    this.heads.set(head.name, head);
    if (options.setActive ?? true) this.setActiveHead(head.name);
  }

  private checkName(name: string, overwriteOk = false): void {
    if (this.heads.has(name) && !overwriteOk) {
      throw new AdapterStateError('HEAD_EXISTS', `Model already contains a head named '${name}' (pass { overwriteOk: true } to replace it)`);
    }
  }

  /** Remove a head and free its variables; clears the active head if it was used. */
  delete(name: string): void {
    const head = this.require(name);
    head.dispose();
    this.heads.delete(name);
    if (this.explicit?.names.includes(name)) this.explicit = undefined;
  }

  has(name: string): boolean {
    return this.heads.has(name);
  }

  /** A head by name, or an AdapterStateError naming the existing ones. */
  require(name: string): PredictionHead {
    const head = this.heads.get(name);
    if (!head) throw new AdapterStateError('NO_SUCH_HEAD', `No head named '${name}' (have: ${this.names().join(', ') || 'none'})`);
    return head;
  }

  /** Names of all heads, in insertion order. */
  names(): string[] {
    return [...this.heads.keys()];
  }

  /** Set the active head(s) explicitly: a name, a list (every head on the full output), or null for none. */
  setActiveHead(setup: string | readonly string[] | null): void {
    this.seenSetup = this.model.activeAdapters;
    if (setup === null) {
      this.explicit = undefined;
      return;
    }
    const names = typeof setup === 'string' ? [setup] : [...setup];
    for (const n of names) this.require(n);
    this.explicit = { kind: names.length === 1 ? 'single' : 'list', names };
  }

  /**
   * The active head setup. When the model's adapter setup changed since the last look and heads exist for every
   * adapter it implies (the reference's `set_active_adapters` rule), those heads become active.
   */
  get activeHead(): HeadSetup | undefined {
    const setup = this.model.activeAdapters;
    if (setup !== this.seenSetup) {
      this.seenSetup = setup;
      const implied = setup ? headsFromComposition(setup) : undefined;
      if (implied && implied.names.every((n) => this.heads.has(n))) this.explicit = implied;
    }
    return this.explicit;
  }

  /** Every trainable head variable (all heads stay trainable under `trainAdapter`, as in the reference). */
  trainableVariables(): tf.Variable[] {
    return [...this.heads.values()].flatMap((h) => h.list().map((p) => p.variable).filter((v) => v.trainable));
  }

  /** Free every head. */
  dispose(): void {
    for (const h of this.heads.values()) h.dispose();
    this.heads.clear();
    this.explicit = undefined;
  }
}

const REGISTRIES = new WeakMap<AdapterModel, HeadRegistry>();

/** The head registry of a model (created on first use). */
export function getHeads(model: AdapterModel): HeadRegistry {
  let r = REGISTRIES.get(model);
  if (!r) {
    r = new HeadRegistry(model);
    REGISTRIES.set(model, r);
    model.onDispose(() => disposeHeads(model));
  }
  return r;
}

/** Free every head of a model and forget its registry. */
export function disposeHeads(model: AdapterModel): void {
  REGISTRIES.get(model)?.dispose();
  REGISTRIES.delete(model);
}
