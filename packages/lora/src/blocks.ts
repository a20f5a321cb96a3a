import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, blockRowSizes, type BlockChild, type BlockCompiler, type BlockImplementations, type ProjectionPayload } from '@adapterkit/core';
import { gatheredUpdate } from './gathered';
import { LoRAInstance } from './instance';
import type { LoRAPoint } from './sites';

/**
 * What acts in a block child at a point and layer, for the gathered path: its one LoRA instance, `null` when nothing
 * acts there, or `'other'` when something else acts (another method's handler, or several LoRA adapters stacked).
 */
function loraOf<P extends LoRAPoint>(child: BlockChild<P>, point: P, layer: number): LoRAInstance | null | 'other' {
  if (child.step === null) return null;
  const loras = child.instances.filter((i): i is LoRAInstance => i instanceof LoRAInstance);
  const others = child.instances.some((i) => !(i instanceof LoRAInstance) && i.handlers[point]?.(layer) !== undefined);
  return others || loras.length !== 1 ? 'other' : loras[0]!;
}

/**
 * A block that routes consecutive batch rows to its children. In inference, when every child is a single plain
 * LoRA or (IA)³ adapter (or has nothing at this point), one gathered update serves all rows
 * ({@link gatheredUpdate}: a constant number of ops however many children); otherwise (training, dropout, gating,
 * DoRA, add and scale mixed, other methods or stacks in a child) each child's chain computes its rows of the
 * projection output from its rows of the input and the frozen output, and the parts are concatenated along the
 * batch. A merged child would act on every row through the base weights, so a merged LoRA adapter in the block throws.
 */
function routeRows<P extends LoRAPoint>(point: P): BlockCompiler<P> {
  return (args) => {
    const acting = args.children.map((c) => loraOf(c, point, args.layer));
    const gatherable = acting.every((a) => a !== 'other');
    return (payload, next) => {
      const merged = args.children.flatMap((c) => c.instances).find((i): i is LoRAInstance => i instanceof LoRAInstance && i.isMerged);
      if (merged) {
        throw new AdapterStateError(
          'LORA_MERGED',
          `LoRA adapter '${merged.name}' is merged into the base weights, which would apply it to every row of the ${args.block.type} block; call resetAdapter(model) first`,
        );
      }
      const sz = blockRowSizes(args.block, payload.x.shape[0], { point, layer: args.layer });
      const p = payload as ProjectionPayload;
      if (gatherable && !args.context(args.children[0]!.adapters[0]!).forward.training) {
        const modules = acting.map((a) => (a instanceof LoRAInstance ? a.moduleAt(point, args.layer, p.site) : undefined));
        const y = gatheredUpdate(modules, sz, p.x, p.y);
        if (y) return next({ ...p, y } as typeof payload);
      }
      return next({ ...p, y: perChild(args.children, sz, p) } as typeof payload);
    };
  };
}

/** The projection output with each child's chain applied to its consecutive rows, concatenated `[batch, seq, out]`. */
function perChild<P extends LoRAPoint>(children: readonly BlockChild<P>[], sz: readonly number[], p: ProjectionPayload): tf.Tensor3D {
  let start = 0;
  const parts: tf.Tensor3D[] = [];
  children.forEach((child, i) => {
    const size = sz[i]!;
    if (size === 0) return;
    const rows = (t: tf.Tensor3D): tf.Tensor3D => tf.slice(t, [start, 0, 0], [size, -1, -1]);
    const sub = { ...p, x: rows(p.x), y: rows(p.y) };
    start += size;
    parts.push(child.step ? (child.step(sub as never, (q) => (q as ProjectionPayload).y as never) as tf.Tensor3D) : sub.y);
  });
  return parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor3D);
}

/** BatchSplit and Parallel route rows the same way (core's `blockRowSizes`), at every LoRA point. */
const ROW_ROUTING: { [P in LoRAPoint]: BlockCompiler<P> } = {
  'attention.projection': routeRows('attention.projection'),
  'attention.outputProjection': routeRows('attention.outputProjection'),
  'ffn.gateProjection': routeRows('ffn.gateProjection'),
  'ffn.intermediate': routeRows('ffn.intermediate'),
  'ffn.outputProjection': routeRows('ffn.outputProjection'),
  'pooler.projection': routeRows('pooler.projection'),
};

/**
 * Composition blocks of LoRA / (IA)³ (`adapters` supports BatchSplit and Parallel; adapter-transformers 3.2.1 none):
 * each batch slice (Parallel: each replicated channel) gets its child's update. `adapters` excludes fused-QKV layers
 * (GPT-2); here they work like any projection. Fuse, Split and Average are refused at `setActiveAdapters`.
 */
export const LORA_BLOCKS: BlockImplementations = {
  BatchSplit: ROW_ROUTING,
  Parallel: ROW_ROUTING,
};
