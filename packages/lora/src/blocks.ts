import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, blockRowSizes, type BlockCompiler, type BlockImplementations, type ProjectionPayload } from '@adapterkit/core';
import { LoRAInstance } from './instance';
import type { LoRAPoint } from './sites';

/**
 * A block that routes consecutive batch rows to its children: each child's chain computes its rows of the
 * projection output from its rows of the input and the frozen output; the parts are concatenated along the batch.
 * A merged child would act on every row through the base weights, so a merged LoRA adapter in the block throws.
 */
function routeRows<P extends LoRAPoint>(point: P): BlockCompiler<P> {
  return (args) => (payload, next) => {
    const merged = args.children.flatMap((c) => c.instances).find((i): i is LoRAInstance => i instanceof LoRAInstance && i.isMerged);
    if (merged) {
      throw new AdapterStateError(
        'LORA_MERGED',
        `LoRA adapter '${merged.name}' is merged into the base weights, which would apply it to every row of the ${args.block.type} block; call resetAdapter(model) first`,
      );
    }
    const sz = blockRowSizes(args.block, payload.x.shape[0], { point, layer: args.layer });
    const p = payload as ProjectionPayload;
    let start = 0;
    const parts: tf.Tensor3D[] = [];
    args.children.forEach((child, i) => {
      const size = sz[i]!;
      if (size === 0) return;
      const rows = (t: tf.Tensor3D): tf.Tensor3D => tf.slice(t, [start, 0, 0], [size, -1, -1]);
      const sub = { ...p, x: rows(p.x), y: rows(p.y) } as typeof payload;
      start += size;
      parts.push(child.step ? (child.step(sub, (q) => (q as ProjectionPayload).y) as tf.Tensor3D) : (sub as ProjectionPayload).y);
    });
    return next({ ...p, y: parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor3D) } as typeof payload);
  };
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
