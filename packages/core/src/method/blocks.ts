import type { CompositionBlock } from '../composition/blocks';
import type { HookPayload, HookPoint, HookResult, HookContext } from '../hooks/points';
import type { MethodInstance } from './define';

/** A compiled piece of a hook chain: run the payload, continuing with `next`. */
export type CompiledStep<P extends HookPoint> = (
  payload: HookPayload<P>,
  next: (payload: HookPayload<P>) => HookResult<P>,
) => HookResult<P>;

/** One child of a block as seen by a block implementation. */
export interface BlockChild<P extends HookPoint> {
  /** The child's compiled chain at this point and layer (null if nothing in it acts here). */
  readonly step: CompiledStep<P> | null;
  /** Adapter names in the child, in order. */
  readonly adapters: readonly string[];
  /** Method instances of those adapters (same order). */
  readonly instances: readonly MethodInstance[];
}

/** Arguments for compiling a block at one point and layer. */
export interface BlockCompileArgs<P extends HookPoint> {
  readonly block: CompositionBlock;
  readonly point: P;
  readonly layer: number;
  readonly children: readonly BlockChild<P>[];
  /** Build the handler context for an adapter (state of the running forward). */
  readonly context: (adapter: string) => HookContext;
}

/** Compiles a block at a point into a step. */
export type BlockCompiler<P extends HookPoint> = (args: BlockCompileArgs<P>) => CompiledStep<P>;

/** A method's block implementations: `{ Fuse: { 'ffn.output': compiler } }`. */
export type BlockImplementations = {
  readonly [B in 'Fuse' | 'Split' | 'BatchSplit' | 'Parallel' | 'Average']?: {
    readonly [P in HookPoint]?: BlockCompiler<P>;
  };
};
