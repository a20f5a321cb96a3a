import * as tf from '@tensorflow/tfjs-core';
import { adapterNames, firstAdapter, isBlock, parallelChannels, type CompositionBlock, type SetupNode } from '../composition/blocks';
import { CapabilityError } from '../errors';
import type { BlockChild, CompiledStep } from '../method/blocks';
import type { AnyAdapterMethod, MethodInstance } from '../method/define';
import type {
  ForwardInfo,
  HookContext,
  HookPayload,
  HookPoint,
  HookResult,
  HookRunner,
  Terminal,
} from './points';

/** A member of an adapter: one method instance (an adapter from a config union has several). */
export interface AdapterMember {
  readonly method: AnyAdapterMethod;
  readonly instance: MethodInstance;
}

/** Looks up the members of an adapter by name. */
export type MemberLookup = (name: string) => readonly AdapterMember[] | undefined;

interface ForwardState {
  readonly info: ForwardInfo;
  readonly states: Map<string, unknown[]>;
}

/**
 * Runs the active adapter setup at every hook point. The chain for each (point, layer) is compiled once from the
 * setup (Stack = handlers in setup order; other blocks = the implementing method's block compiler) and cached
 * until the setup or the adapters change. With no active setup a site costs one field check.
 */
export class Dispatcher implements HookRunner {
  private setup: CompositionBlock | undefined;
  private readonly cache = new Map<string, CompiledStep<HookPoint> | null>();
  private current: ForwardState | undefined;
  private skipLayers: ReadonlySet<number> = new Set();
  private channels = 1;

  constructor(private readonly lookup: MemberLookup) {}

  /** The active setup (undefined = plain base model). */
  get activeSetup(): CompositionBlock | undefined {
    return this.setup;
  }

  /**
   * Replace the active setup; drops compiled chains. `skipLayers` (AdapterDrop) lists layers where no adapter
   * acts.
   */
  setSetup(setup: CompositionBlock | undefined, skipLayers: Iterable<number> = []): void {
    this.channels = setup ? parallelChannels(setup) : 1;
    this.setup = setup;
    this.skipLayers = new Set(skipLayers);
    this.invalidate();
  }

  /** Layers skipped by AdapterDrop under the current setup. */
  get skippedLayers(): ReadonlySet<number> {
    return this.skipLayers;
  }

  /** Is a forward in progress (between beginForward and endForward)? */
  get inForward(): boolean {
    return this.current !== undefined;
  }

  /** Drop compiled chains (call after adding/deleting adapters). */
  invalidate(): void {
    this.cache.clear();
  }

  /** Compile every point of every layer now, so unsupported compositions fail before any forward. */
  compileAll(points: Iterable<HookPoint>, numLayers: number, modelLevel: ReadonlySet<HookPoint>): void {
    if (!this.setup) return;
    for (const point of points) {
      const layers = modelLevel.has(point) ? [-1] : Array.from({ length: numLayers }, (_, i) => i);
      for (const layer of layers) this.stepFor(point, layer);
    }
  }

  /** Start a forward: runs `beginForward` of every active adapter member. Pair with {@link endForward}. */
  beginForward(base: ForwardInfo): void {
    const states = new Map<string, unknown[]>();
    const info: ForwardInfo = this.setup
      ? { ...base, setup: this.setup, firstAdapter: firstAdapter(this.setup), ...(this.channels > 1 ? { parallelChannels: this.channels } : {}) }
      : base;
    if (this.setup) {
      for (const name of adapterNames(this.setup)) {
        const members = this.lookup(name) ?? [];
        states.set(name, members.map((m) => m.instance.beginForward?.(info)));
      }
    }
    this.current = { info, states };
  }

  endForward(): void {
    this.current = undefined;
  }

  /**
   * Run the active setup at a point. Under a Parallel setup the result of `embeddings.output` is replicated along
   * the batch once per channel (see {@link ForwardInfo.parallelChannels}).
   */
  run<P extends HookPoint>(point: P, layer: number, payload: HookPayload<P>, terminal: Terminal<P>): HookResult<P> {
    if (this.setup === undefined) return terminal(payload);
    const step = this.stepFor(point, layer);
    const result = step ? step(payload, terminal) : terminal(payload);
    if (point !== 'embeddings.output' || this.channels === 1) return result;
    const x = result as tf.Tensor3D;
    return tf.tile(x, [this.channels, 1, 1]) as HookResult<P>;
  }

  /** Per-layer listing of which adapters act at which point under the current setup. */
  describe(points: Iterable<HookPoint>, numLayers: number, modelLevel: ReadonlySet<HookPoint>): Array<{ point: HookPoint; layer: number; adapters: string[] }> {
    const rows: Array<{ point: HookPoint; layer: number; adapters: string[] }> = [];
    if (!this.setup) return rows;
    for (const point of points) {
      const layers = modelLevel.has(point) ? [-1] : Array.from({ length: numLayers }, (_, i) => i);
      for (const layer of layers) {
        const acting = adapterNames(this.setup).filter((name) =>
          (this.lookup(name) ?? []).some((m) => m.instance.handlers[point]?.(layer) !== undefined),
        );
        if (acting.length > 0) rows.push({ point, layer, adapters: acting });
      }
    }
    return rows;
  }

  private stepFor<P extends HookPoint>(point: P, layer: number): CompiledStep<P> | null {
    const key = `${point}@${layer}`;
    let step = this.cache.get(key) as CompiledStep<P> | null | undefined;
    if (step === undefined) {
      step = this.skipLayers.has(layer) ? null : this.compile(this.setup!, point, layer);
      this.cache.set(key, step as CompiledStep<HookPoint> | null);
    }
    return step;
  }

  private context(name: string, memberIndex: number, layer: number): HookContext {
    const cur = this.current;
    return {
      layer,
      adapter: name,
      state: cur?.states.get(name)?.[memberIndex],
      forward: cur?.info ?? { batchSize: 0, seqLength: 0, training: false },
    };
  }

  private compile<P extends HookPoint>(node: SetupNode, point: P, layer: number): CompiledStep<P> | null {
    if (!isBlock(node)) return this.compileLeaf(node, point, layer);
    const children = node.children.map((c) => this.compile(c, point, layer));
    if (node.type === 'Stack') return chain(children);
    if (children.every((c) => c === null)) return null;
    return this.compileBlock(node, point, layer, children);
  }

  private compileLeaf<P extends HookPoint>(name: string, point: P, layer: number): CompiledStep<P> | null {
    const members = this.lookup(name);
    if (!members) throw new CapabilityError('UNKNOWN_ADAPTER', `The active setup names adapter '${name}', which does not exist`);
    const steps = members.map((m, i): CompiledStep<P> | null => {
      const factory = m.instance.handlers[point] as ((l: number) => unknown) | undefined;
      const handler = factory?.(layer) as
        | ((p: HookPayload<P>, next: (p: HookPayload<P>) => HookResult<P>, ctx: HookContext) => HookResult<P>)
        | undefined;
      if (!handler) return null;
      return (payload, next) => handler(payload, next, this.context(name, i, layer));
    });
    return chain(steps);
  }

  private compileBlock<P extends HookPoint>(
    block: CompositionBlock,
    point: P,
    layer: number,
    steps: Array<CompiledStep<P> | null>,
  ): CompiledStep<P> {
    const children: BlockChild<P>[] = block.children.map((child, i) => {
      const names = adapterNames(child);
      return {
        step: steps[i] ?? null,
        adapters: names,
        instances: names.flatMap((n) => (this.lookup(n) ?? []).map((m) => m.instance)),
      };
    });
    const acting = block.children
      .flatMap((child) => adapterNames(child))
      .flatMap((n) => (this.lookup(n) ?? []).filter((m) => m.instance.handlers[point]?.(layer) !== undefined));
    for (const member of acting) {
      const compiler = member.method.blocks?.[block.type as Exclude<typeof block.type, 'Stack'>]?.[point];
      if (!compiler) {
        throw new CapabilityError(
          'UNSUPPORTED_BLOCK',
          `Method '${member.method.name}' (${member.method.meta.package}) does not support the ${block.type} block at '${point}'` +
            (layer >= 0 ? ` (layer ${layer})` : ''),
        );
      }
    }
    const compiler = acting[0]!.method.blocks![block.type as Exclude<typeof block.type, 'Stack'>]![point]!;
    return compiler({
      block,
      point,
      layer,
      children,
      context: (adapter: string) => this.context(adapter, 0, layer),
    });
  }
}

/** Compose steps in order: the first runs first and its `next` is the second, ..., the last's `next` is the terminal. */
function chain<P extends HookPoint>(steps: Array<CompiledStep<P> | null>): CompiledStep<P> | null {
  const active = steps.filter((s): s is CompiledStep<P> => s !== null);
  if (active.length === 0) return null;
  if (active.length === 1) return active[0]!;
  return (payload, next) => {
    const runFrom = (i: number, p: HookPayload<P>): HookResult<P> => (i === active.length ? next(p) : active[i]!(p, (q) => runFrom(i + 1, q)));
    return runFrom(0, payload);
  };
}
