import * as tf from '@tensorflow/tfjs-core';
import { adapterNames, parallelChannels, toSetup, validateSetup, type CompositionBlock, type SetupNode } from '../composition/blocks';
import { MethodRegistry } from '../config/registry';
import { resolveAdapterConfig, type AdapterConfigInput, type ResolvedMember, type UnionConfigInput } from '../config/resolve';
import { AdapterStateError, CapabilityError } from '../errors';
import { Dispatcher, type AdapterMember } from '../hooks/dispatcher';
import { HOOK_POINTS, MODEL_LEVEL_POINTS, type HookPayload, type HookPoint, type HookResult } from '../hooks/points';
import type { AnyAdapterMethod, ConfigInput, MethodInstance } from '../method/define';
import type { MethodExtension } from '../method/extension';
import { Rng } from '../nn/init';
import type { HostInfo, KeyValueCache, ModelOutputs, TransformerHost } from './host';
import { toModelInputs, type ModelInputsLike } from './inputs';
import type { SinkInput, SourceInput } from '../io/source';
import { loadAdapter, saveAdapter, type LoadAdapterOptions, type SaveAdapterOptions } from './adapter-io';
import { ParamCollector, type NamedParam } from './params';
import { adapterSummary, formatAdapterSummary, type AdapterSummaryRow } from './summary';

/** Options of {@link AdapterModel}. */
export interface AdapterModelOptions<M extends AnyAdapterMethod> {
  /** Methods (and method extensions) this model can use; nothing is registered globally. */
  readonly methods: ReadonlyArray<M | MethodExtension>;
  /** Seed for adapter initialisation (default 42). */
  readonly seed?: number;
  /** Receives warnings (default: console.warn). */
  readonly warn?: (message: string) => void;
}

/** Options of {@link AdapterModel.addAdapter}. */
export interface AddAdapterOptions {
  readonly overwriteOk?: boolean;
  readonly setActive?: boolean;
  /** Seed of this adapter's initialisation (default: drawn from the model's seed). */
  readonly seed?: number;
}

/** A live adapter: its resolved members (one per method; several for a config union) and its parameters. */
export interface AdapterEntry {
  readonly name: string;
  readonly members: ReadonlyArray<ResolvedMember & { readonly instance: MethodInstance }>;
  readonly params: ParamCollector;
}

/** What `addAdapter` accepts for a model with methods `M`. */
export type AdapterConfigFor<M> = ConfigInput<M> | string | UnionConfigInput;

/** Options of {@link AdapterModel.setActiveAdapters}. */
export interface ActivateOptions {
  /** Layers where no adapter acts (AdapterDrop). */
  readonly skipLayers?: readonly number[];
}

/** Options of a forward pass. */
export interface ForwardOptions {
  /** Dropout on (default false). */
  readonly training?: boolean;
  /**
   * Seed of a training forward's random source (dropout masks): the same seed gives the same forward. Without a
   * seed (and without `rng`) the model draws one from its own seeded stream (`AdapterModelOptions.seed`).
   */
  readonly seed?: number;
  /** The random source of a training forward itself (the trainer passes its stream); takes precedence over `seed`. */
  readonly rng?: Rng;
  /** Also compute LM logits where the host has an LM head. */
  readonly lmLogits?: boolean;
  /** Incremental decoding with a key/value cache (decoder hosts; see {@link KeyValueCache}). */
  readonly cache?: KeyValueCache;
}

const NAME_RE = /^[^.|,\s[\]]+$/;

/**
 * A frozen pre-trained Transformer plus named adapters: add, delete, activate, train, save and load them.
 * Methods are plugins passed at construction; each adapter is one or more method instances whose handlers the
 * dispatcher runs at the host's hook points in the order of the active setup.
 *
 * Type parameter `M` is the union of installed method types, so `addAdapter` only accepts their configs.
 */
export class AdapterModel<M extends AnyAdapterMethod = AnyAdapterMethod> {
  readonly host: TransformerHost;
  readonly methods: MethodRegistry;
  private readonly adapters = new Map<string, AdapterEntry>();
  private readonly paramGroups = new Map<string, ParamCollector>();
  private readonly dispatcher: Dispatcher;
  private readonly rng: Rng;
  /** Seeds of training forwards given no seed (a stream of its own, so forwards do not shift adapter initialisation). */
  private readonly forwardSeeds: Rng;
  private trainSetup: CompositionBlock | undefined;
  private disposed = false;
  private readonly disposeCallbacks: Array<() => void> = [];
  /** Receives warnings. */
  readonly warn: (message: string) => void;

  constructor(host: TransformerHost, options: AdapterModelOptions<M>) {
    this.host = host;
    this.methods = new MethodRegistry(options.methods);
    this.rng = new Rng(options.seed ?? 42);
    this.forwardSeeds = new Rng(((options.seed ?? 42) ^ 0x5bd1e995) >>> 0);
    this.warn = options.warn ?? ((m) => console.warn(`[adapterkit] ${m}`));
    this.dispatcher = new Dispatcher((name) => this.adapters.get(name)?.members as readonly AdapterMember[] | undefined);
  }

  /** Static description of the host. */
  get info(): HostInfo {
    return this.host.info;
  }

  /**
   * Add a new adapter. `config` is a config string in AdapterHub's grammar (`'pfeiffer[reduction_factor=8]'`,
   * `'prefix_tuning|parallel'`), a typed config object of an installed method, or a union object.
   */
  addAdapter(name: string, config: AdapterConfigFor<M>, options: AddAdapterOptions = {}): void {
    this.assertLive();
    const members = resolveAdapterConfig(config as AdapterConfigInput, this.methods, this.info);
    const entry = this.createEntry(name, members, options.seed);
    this.registerEntry(entry, options);
  }

  /**
   * Build an adapter without registering it (validates the name and capabilities first). Callers that load
   * weights use this so that a failed load never leaves a half-made adapter in the model.
   */
  createEntry(name: string, members: readonly ResolvedMember[], seed?: number, limits: { maxElements?: number } = {}): AdapterEntry {
    this.assertLive();
    if (!NAME_RE.test(name)) {
      throw new AdapterStateError('BAD_ADAPTER_NAME', `Adapter name '${name}' is invalid: it must be non-empty without '.', ',', '|', brackets or spaces`);
    }
    for (const { method } of members) this.checkCapabilities(method);
    const params = new ParamCollector(name, limits.maxElements);
    const rng = new Rng(seed ?? Math.floor(this.rng.next() * 2 ** 32));
    const built: Array<ResolvedMember & { instance: MethodInstance }> = [];
    try {
      for (const member of members) {
        const instance = member.method.create({
          name,
          config: member.config as never,
          host: this.info,
          params,
          rng,
          extensions: this.hostCheckedExtensions(member.method),
          warn: this.warn,
          baseParameters: this.host.parameters,
        });
        built.push({ ...member, instance });
      }
    } catch (err) {
      for (const b of built) b.instance.dispose?.();
      params.dispose();
      throw err;
    }
    return { name, members: built, params };
  }

  /** Register a built adapter (see {@link createEntry}). */
  registerEntry(entry: AdapterEntry, options: AddAdapterOptions = {}): void {
    if (this.adapters.has(entry.name)) {
      if (!options.overwriteOk) {
        disposeEntry(entry);
        throw new AdapterStateError('ADAPTER_EXISTS', `An adapter named '${entry.name}' already exists (pass { overwriteOk: true } to replace it)`);
      }
      this.deleteAdapter(entry.name);
    }
    this.adapters.set(entry.name, entry);
    for (const p of entry.params.list()) p.variable.trainable = false;
    this.dispatcher.invalidate();
    if (options.setActive) this.setActiveAdapters(entry.name);
  }

  /**
   * The extensions installed for `method`, as a map whose `get` first checks that the host provides the hook points
   * the extension declares: a method looks up an extension only when its config uses it, so a config that needs
   * one the host cannot serve fails there (and `createEntry` frees what was built), while plain configs are unaffected.
   */
  private hostCheckedExtensions(method: AnyAdapterMethod): ReadonlyMap<string, MethodExtension> {
    const info = this.info;
    return new (class extends Map<string, MethodExtension> {
      override get(point: string): MethodExtension | undefined {
        const ext = super.get(point);
        const missing = (ext?.hooks ?? []).filter((p) => !info.hookPoints.has(p));
        if (ext && missing.length > 0) {
          throw new CapabilityError(
            'MISSING_HOOK_POINT',
            `Extension '${ext.name}' (${ext.meta.package}) of method '${method.name}' needs hook point(s) ${missing.join(', ')}, which the ${info.modelType} host does not provide`,
          );
        }
        return ext;
      }
    })(this.methods.extensionsFor(method.name));
  }

  private checkCapabilities(method: AnyAdapterMethod): void {
    const missing = method.hooks.filter((p) => !this.info.hookPoints.has(p));
    if (missing.length > 0) {
      throw new CapabilityError(
        'MISSING_HOOK_POINT',
        `Method '${method.name}' (${method.meta.package}) needs hook point(s) ${missing.join(', ')}, which the ${this.info.modelType} host does not provide`,
      );
    }
  }

  /**
   * Swap an adapter's implementation in place (e.g. after ejecting prefix tuning): keeps its position, the
   * active and training setups and its trainability; the old entry is disposed.
   */
  replaceEntry(entry: AdapterEntry): void {
    const old = this.requireAdapter(entry.name);
    const trainable = old.params.list().some((p) => p.variable.trainable);
    this.adapters.set(entry.name, entry);
    for (const p of entry.params.list()) p.variable.trainable = trainable && !p.frozen;
    disposeEntry(old);
    this.dispatcher.invalidate();
  }

  /** Remove an adapter and free its variables. If it was active, the setup is cleared. */
  deleteAdapter(name: string): void {
    const entry = this.requireAdapter(name);
    const active = this.dispatcher.activeSetup;
    if (active && adapterNames(active).includes(name)) {
      this.dispatcher.setSetup(undefined);
      this.notifySetupChange(active, undefined);
    }
    if (this.trainSetup && adapterNames(this.trainSetup).includes(name)) this.trainSetup = undefined;
    this.adapters.delete(name);
    disposeEntry(entry);
    this.dispatcher.invalidate();
  }

  hasAdapter(name: string): boolean {
    return this.adapters.has(name);
  }

  /** Names of all adapters, in insertion order. */
  adapterNames(): string[] {
    return [...this.adapters.keys()];
  }

  /** An adapter by name, or an AdapterStateError naming the existing ones. */
  requireAdapter(name: string): AdapterEntry {
    const entry = this.adapters.get(name);
    if (!entry) {
      throw new AdapterStateError('NO_SUCH_ADAPTER', `No adapter named '${name}' (have: ${this.adapterNames().join(', ') || 'none'})`);
    }
    return entry;
  }

  /**
   * Activate a setup: a name, a list (= Stack), or a composition block; `null` deactivates all. Every point of
   * every layer is compiled now, so an unsupported composition fails here, not in the middle of a forward.
   * `skipLayers` drops every adapter from those layers (AdapterDrop).
   */
  setActiveAdapters(setup: SetupNode | readonly string[] | null, options: ActivateOptions = {}): void {
    this.assertLive();
    const previous = this.dispatcher.activeSetup;
    const previousSkip = [...this.dispatcher.skippedLayers];
    if (setup === null) {
      this.dispatcher.setSetup(undefined);
      this.notifySetupChange(previous, undefined);
      return;
    }
    const block = toSetup(setup as SetupNode);
    validateSetup(block);
    for (const n of adapterNames(block)) this.requireAdapter(n);
    if (parallelChannels(block) > 1 && !this.info.hookPoints.has('embeddings.output')) {
      throw new CapabilityError('MISSING_HOOK_POINT', `A Parallel setup needs hook point embeddings.output (where the batch is replicated), which the ${this.info.modelType} host does not provide`);
    }
    for (const l of options.skipLayers ?? []) {
      if (!Number.isInteger(l) || l < 0 || l >= this.info.numLayers) {
        throw new AdapterStateError('BAD_SKIP_LAYER', `skipLayers: ${l} is not a layer index of this ${this.info.numLayers}-layer model`);
      }
    }
    this.dispatcher.setSetup(block, options.skipLayers);
    try {
      this.dispatcher.compileAll(HOOK_POINTS, this.info.numLayers, MODEL_LEVEL_POINTS);
    } catch (err) {
      this.dispatcher.setSetup(previous, previousSkip);
      throw err;
    }
    this.notifySetupChange(previous, block);
  }

  private notifySetupChange(before: CompositionBlock | undefined, after: CompositionBlock | undefined): void {
    const was = new Set(before ? adapterNames(before) : []);
    const now = new Set(after ? adapterNames(after) : []);
    for (const name of new Set([...was, ...now])) {
      if (was.has(name) === now.has(name)) continue;
      for (const m of this.adapters.get(name)?.members ?? []) m.instance.onSetupChange?.(now.has(name));
    }
  }

  /**
   * Run the active setup at a model-level hook point outside the host's forward, e.g. `head.input` (the inverse
   * invertible adapter) before a task head's vocabulary projection: `[batch, seq, hidden]` → same. Inside a
   * `forward` bracket it shares that forward's state; otherwise it opens its own.
   */
  runHook<P extends 'embeddings.output' | 'head.input'>(point: P, payload: HookPayload<P>, options: { training?: boolean; seed?: number; rng?: Rng } = {}): HookResult<P> {
    this.assertLive();
    const identity = (p: HookPayload<P>): HookResult<P> => p as HookResult<P>;
    if (this.dispatcher.inForward) return this.dispatcher.run(point, -1, payload, identity);
    const [batchSize, seqLength] = (payload as tf.Tensor).shape as [number, number];
    const training = options.training ?? false;
    this.dispatcher.beginForward({ batchSize, seqLength, training, ...(training ? { rng: this.forwardRng(options) } : {}) });
    try {
      return this.dispatcher.run(point, -1, payload, identity);
    } finally {
      this.dispatcher.endForward();
    }
  }

  /**
   * Like {@link forward}, then `fn(outputs)` inside the same tidy scope and forward state (so `fn` may call
   * {@link runHook}); returns what `fn` returns. Used by task heads.
   */
  forwardWith<T extends tf.TensorContainer>(raw: ModelInputsLike, options: ForwardOptions, fn: (outputs: ModelOutputs) => T): T {
    this.assertLive();
    const training = options.training ?? false;
    const rng = training ? { rng: this.forwardRng(options) } : {};
    return tf.tidy(() => {
      const inputs = toModelInputs(raw); // plain number[][] rows become int32 tensors, freed with the intermediates
      const [batchSize, seqLength] = inputs.inputIds.shape;
      const info = { batchSize, seqLength, training, ...rng, ...(inputs.attentionMask ? { attentionMask: inputs.attentionMask } : {}) };
      this.dispatcher.beginForward(info);
      try {
        const cache = options.cache ? { cache: options.cache } : {};
        return fn(this.host.forward(inputs, this.dispatcher, { training, ...rng, lmLogits: options.lmLogits ?? false, ...cache }));
      } finally {
        this.dispatcher.endForward();
      }
    });
  }

  /**
   * The random source of a training forward: `options.rng`, else one seeded by `options.seed`, else one seeded from
   * the model's own stream of forward seeds (never `Math.random`). Used by `forward` and by callers that add their
   * own dropout to a forward (task heads), so everything in one forward draws from one source.
   */
  forwardRng(options: { seed?: number; rng?: Rng }): Rng {
    if (options.rng) return options.rng;
    return new Rng(options.seed ?? Math.floor(this.forwardSeeds.next() * 2 ** 32));
  }

  /** Register a callback run when the model is disposed (e.g. to free task heads). */
  onDispose(callback: () => void): void {
    this.disposeCallbacks.push(callback);
  }

  /** The active setup (a top-level Stack), or undefined. */
  get activeAdapters(): CompositionBlock | undefined {
    return this.dispatcher.activeSetup;
  }

  /**
   * Prepare to train the adapters of `setup`: freezes every base parameter (`trainable = false`) and every
   * parameter group, makes exactly the setup's adapter parameters trainable and activates the setup.
   */
  trainAdapter(setup: SetupNode | readonly string[]): void {
    const block = toSetup(setup as SetupNode);
    this.setActiveAdapters(block);
    this.freezeModel(true);
    this.freezeAdapters();
    const names = new Set(adapterNames(block));
    for (const entry of this.adapters.values()) {
      if (names.has(entry.name)) for (const p of entry.params.list()) p.variable.trainable = !p.frozen;
    }
    this.trainSetup = block;
  }

  /**
   * Register parameters a plugin keeps outside any adapter, e.g. AdapterFusion layers (`fusion:a,b`). The model
   * owns them from now on: they start frozen, are listed by {@link trainableVariables} when trainable, are frozen
   * by {@link trainAdapter} and released by {@link deleteParamGroup} or {@link dispose}.
   */
  addParamGroup(id: string, params: ParamCollector): void {
    this.assertLive();
    if (this.paramGroups.has(id)) {
      params.dispose();
      throw new AdapterStateError('PARAM_GROUP_EXISTS', `A parameter group '${id}' already exists`);
    }
    for (const p of params.list()) p.variable.trainable = false;
    this.paramGroups.set(id, params);
    this.dispatcher.invalidate();
  }

  /** Remove a parameter group and free its variables. */
  deleteParamGroup(id: string): void {
    const group = this.paramGroups.get(id);
    if (!group) throw new AdapterStateError('NO_SUCH_PARAM_GROUP', `No parameter group '${id}' (have: ${[...this.paramGroups.keys()].join(', ') || 'none'})`);
    this.paramGroups.delete(id);
    group.dispose();
    this.dispatcher.invalidate();
  }

  /** A parameter group by id, or undefined. */
  paramGroup(id: string): ParamCollector | undefined {
    return this.paramGroups.get(id);
  }

  /** Ids of all parameter groups, in insertion order. */
  paramGroupIds(): string[] {
    return [...this.paramGroups.keys()];
  }

  /** Freeze every adapter parameter and every parameter group (e.g. fusion layers); the base is left as it is. */
  freezeAdapters(): void {
    for (const entry of this.adapters.values()) for (const p of entry.params.list()) p.variable.trainable = false;
    for (const group of this.paramGroups.values()) for (const p of group.list()) p.variable.trainable = false;
  }

  /** Freeze (or unfreeze) every base-model parameter. */
  freezeModel(freeze = true): void {
    for (const v of this.host.parameters.values()) v.trainable = !freeze;
  }

  /** The setup passed to the last {@link trainAdapter}, if any. */
  get trainingSetup(): CompositionBlock | undefined {
    return this.trainSetup;
  }

  /** Every trainable variable (base, adapters, parameter groups), e.g. for an optimizer's var list. */
  trainableVariables(): tf.Variable[] {
    const out: tf.Variable[] = [];
    for (const v of this.host.parameters.values()) if (v.trainable) out.push(v);
    for (const e of this.adapters.values()) for (const p of e.params.list()) if (p.variable.trainable) out.push(p.variable);
    for (const g of this.paramGroups.values()) for (const p of g.list()) if (p.variable.trainable) out.push(p.variable);
    return out;
  }

  /** Parameters of one adapter under the reference's keys. */
  adapterParams(name: string): readonly NamedParam[] {
    return this.requireAdapter(name).params.list();
  }

  /**
   * Run the model with the active setup. Intermediates are freed; the returned tensors belong to the caller.
   * Inputs: int32 `[batch, seq]` tensors or plain `number[][]` rows (e.g. `tokenizer.encodeBatch(texts).inputIds`);
   * bad rows fail with `AdapterKitError` `INVALID_INPUTS`. Outputs: `lastHiddenState [batch, seq, hidden]`, `poolerOutput [batch, hidden]`
   * (encoders), `logits [batch, seq, vocab]` (when `lmLogits`).
   */
  forward(inputs: ModelInputsLike, options: ForwardOptions = {}): ModelOutputs {
    return this.forwardWith(inputs, options, (outputs) => outputs as unknown as tf.TensorContainer) as unknown as ModelOutputs;
  }

  /** Save an adapter in AdapterHub's layout (see {@link saveAdapter}). */
  saveAdapter(dir: SinkInput, name: string, options?: SaveAdapterOptions): Promise<void> {
    return saveAdapter(this, dir, name, options);
  }

  /** Load an adapter saved in AdapterHub's layout; returns its name (see {@link loadAdapter}). */
  loadAdapter(dir: SourceInput, options?: LoadAdapterOptions): Promise<string> {
    return loadAdapter(this, dir, options);
  }

  /** Rows of the adapter table (name, architecture, #params, % of base, active, train). */
  adapterSummary(): AdapterSummaryRow[] {
    return adapterSummary(this);
  }

  /** The adapter table as text, in the reference's layout. */
  formatAdapterSummary(): string {
    return formatAdapterSummary(this);
  }

  /** Which adapters act at which hook point and layer under the active setup. */
  describeHooks(): Array<{ point: HookPoint; layer: number; adapters: string[] }> {
    return this.dispatcher.describe(HOOK_POINTS, this.info.numLayers, MODEL_LEVEL_POINTS);
  }

  /** Release every adapter and the host's variables. */
  dispose(): void {
    if (this.disposed) return;
    for (const cb of this.disposeCallbacks.splice(0)) cb();
    for (const e of this.adapters.values()) disposeEntry(e);
    this.adapters.clear();
    for (const g of this.paramGroups.values()) g.dispose();
    this.paramGroups.clear();
    this.dispatcher.setSetup(undefined);
    this.host.dispose();
    this.disposed = true;
  }

  private assertLive(): void {
    if (this.disposed) throw new AdapterStateError('DISPOSED', 'This AdapterModel has been disposed');
  }
}

/** Dispose an adapter entry that is not (or no longer) registered in a model. */
export function disposeEntry(entry: AdapterEntry): void {
  for (const m of entry.members) m.instance.dispose?.();
  entry.params.dispose();
}
