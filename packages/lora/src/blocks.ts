import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, type BlockCompileArgs, type BlockCompiler, type BlockImplementations, type ProjectionPayload } from '@adapterkit/core';
import { LoRAInstance } from './instance';
import type { LoRAPoint } from './sites';

type Sizes = (batch: number, args: BlockCompileArgs<LoRAPoint>, point: LoRAPoint) => readonly number[];

/**
 * A block that routes consecutive batch rows to its children: each child's chain computes its rows of the
 * projection output from its rows of the input and the frozen output; the parts are concatenated along the batch.
 * A merged child would act on every row through the base weights, so a merged LoRA adapter in the block throws.
 */
function routeRows<P extends LoRAPoint>(point: P, sizes: Sizes): BlockCompiler<P> {
  return (args) => (payload, next) => {
    const merged = args.children.flatMap((c) => c.instances).find((i): i is LoRAInstance => i instanceof LoRAInstance && i.isMerged);
    if (merged) {
      throw new AdapterStateError(
        'LORA_MERGED',
        `LoRA adapter '${merged.name}' is merged into the base weights, which would apply it to every row of the ${args.block.type} block; call resetAdapter(model) first`,
      );
    }
    const sz = sizes(payload.x.shape[0], args as unknown as BlockCompileArgs<LoRAPoint>, point);
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

const batchSplitSizes: Sizes = (batch, { block, layer }, point) => {
  const sizes = block.batchSizes ?? [];
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== batch) {
    throw new AdapterStateError('BAD_BATCH_SPLIT', `BatchSplit batch_sizes [${sizes.join(', ')}] add up to ${total}, but the batch at '${point}' (layer ${layer}) has ${batch} rows`);
  }
  return sizes;
};

const parallelSizes: Sizes = (batch, { block, layer }, point) => {
  const n = block.children.length;
  if (batch % n !== 0) throw new AdapterStateError('BAD_PARALLEL_BATCH', `Parallel of ${n} channels at '${point}' (layer ${layer}) got ${batch} rows, not a multiple of ${n}`);
  return block.children.map(() => batch / n);
};

function at(sizes: Sizes): { [P in LoRAPoint]: BlockCompiler<P> } {
  return {
    'attention.projection': routeRows('attention.projection', sizes),
    'ffn.intermediate': routeRows('ffn.intermediate', sizes),
    'ffn.outputProjection': routeRows('ffn.outputProjection', sizes),
  };
}

/**
 * Composition blocks of LoRA / (IA)³ (`adapters` supports BatchSplit and Parallel; adapter-transformers 3.2.1 none):
 * each batch slice (Parallel: each replicated channel) gets its child's update. `adapters` excludes fused-QKV layers
 * (GPT-2); here they work like any projection. Fuse, Split and Average are refused at `setActiveAdapters`.
 */
export const LORA_BLOCKS: BlockImplementations = {
  BatchSplit: at(batchSplitSizes),
  Parallel: at(parallelSizes),
};
