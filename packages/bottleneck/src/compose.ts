import * as tf from '@tensorflow/tfjs-core';
import {
  adapterNames,
  AdapterStateError,
  blockRowSizes,
  CapabilityError,
  lastAdapter,
  type BlockCompileArgs,
  type BlockCompiler,
  type BlockImplementations,
  type CompositionBlock,
  type ForwardInfo,
  type LayerNormFn,
  type SetupNode,
} from '@adapterkit/core';
import { fusionName } from './fusion/name';
import type { FusionLayer } from './fusion/layer';
import { fusionLayerKey, type FusionRegistry } from './fusion/registry';
import { isBottleneckInstance } from './instance';
import { INVERTIBLE_BLOCKS } from './invertible';
import { locationOf, originOf, postPayload, preForward, type BottleneckModule, type SublayerPoint } from './sublayer';

/** What the composition functions of one (point, layer) need. */
interface Env {
  readonly point: SublayerPoint;
  readonly layer: number;
  /** Modules of the block's adapters that have one here, by adapter name. */
  readonly modules: ReadonlyMap<string, BottleneckModule>;
  readonly fusions: FusionRegistry | undefined;
  readonly ln: LayerNormFn | undefined;
  readonly forward: ForwardInfo;
}

/** The first (or last) adapter of `node`, depth-first, that has a module here. */
function moduleOf(node: SetupNode, env: Env, which: 'first' | 'last'): BottleneckModule | undefined {
  const names = adapterNames(node);
  if (which === 'last') names.reverse();
  for (const n of names) {
    const m = env.modules.get(n);
    if (m) return m;
  }
  return undefined;
}

/** Rows (axis 0) or positions (axis 1) `[start, start + size)` of a `[batch, seq, hidden]` tensor. */
function part(t: tf.Tensor3D, axis: 0 | 1, start: number, size: number): tf.Tensor3D {
  return axis === 0 ? tf.slice(t, [start, 0, 0], [size, -1, -1]) : tf.slice(t, [0, start, 0], [-1, size, -1]);
}

/**
 * A child of Split / BatchSplit / Parallel / Average on its part of the tensors: an adapter runs its forward only
 * (the block already applied pre_forward), an adapter without a module here passes h′ on, a nested block composes
 * itself (applying its own pre_forward, as the reference's nested calls do).
 */
function runChild(child: SetupNode, h: tf.Tensor3D, x: tf.Tensor3D, r: tf.Tensor3D, env: Env): tf.Tensor3D {
  if (typeof child !== 'string') return compose(child, h, x, env).hidden;
  const m = env.modules.get(child);
  return m ? m.forward(h, r, env.forward.rng).output : h;
}

/** The result of composing a block: its hidden output and, for a Stack ending in an adapter, that adapter's u. */
interface Composed {
  readonly hidden: tf.Tensor3D;
  readonly up?: tf.Tensor3D;
}

/** Stack (`adapter_stack`): each adapter applies its pre_forward and forward in turn; nested blocks compose. */
function stack(block: CompositionBlock, h: tf.Tensor3D, x: tf.Tensor3D, env: Env): Composed {
  let hidden = h;
  let up: tf.Tensor3D | undefined;
  block.children.forEach((child, i) => {
    up = undefined;
    if (typeof child !== 'string') {
      hidden = compose(child, hidden, x, env).hidden;
      return;
    }
    const m = env.modules.get(child);
    if (!m) return;
    const pre = preForward(m.config, hidden, x, env.ln);
    const out = m.forward(pre.input, pre.residual, env.forward.rng);
    hidden = out.output;
    if (i === block.children.length - 1) up = out.up;
  });
  return up ? { hidden, up } : { hidden };
}

/** The fusion layer of a Fuse block here, or an error saying why there is none. */
function fusionLayerFor(block: CompositionBlock, env: Env): FusionLayer {
  const name = fusionName(block);
  const fusion = env.fusions?.get(name);
  if (!fusion) {
    throw new AdapterStateError('NO_SUCH_FUSION', `No AdapterFusion '${name}' in this model: call addAdapterFusion(model, Fuse(${name.split(',').map((n) => `'${n}'`).join(', ')})) or loadAdapterFusion first`);
  }
  const layer = fusion.layers.get(fusionLayerKey(locationOf(env.point), env.layer));
  if (!layer) {
    throw new CapabilityError(
      'FUSION_LOCATION',
      `AdapterFusion '${name}' has no layer at '${env.point}' (layer ${env.layer}): not every fused adapter has the ${locationOf(env.point)} location, ` +
        `but ${adapterNames(block).filter((n) => env.modules.has(n)).join(', ')} act there`,
    );
  }
  return layer;
}

/**
 * Fuse (`adapter_fusion`): pre_forward with the config of the last fused adapter gives h′, the query and r; each
 * child gives its up-projection output u_i (an adapter from h′ and r; a Stack from h′, its last adapter's u);
 * the fusion layer attends over them.
 */
function fuse(block: CompositionBlock, h: tf.Tensor3D, x: tf.Tensor3D, env: Env): tf.Tensor3D {
  const layer = fusionLayerFor(block, env);
  const fusion = env.fusions!.get(fusionName(block))!;
  const last = env.modules.get(lastAdapter(block))!;
  const pre = preForward(last.config, h, x, env.ln, fusion.config.queryBeforeLn);
  const ups: tf.Tensor3D[] = [];
  for (const child of block.children) {
    if (typeof child === 'string') {
      const m = env.modules.get(child);
      if (m) ups.push(m.forward(pre.input, pre.residual, env.forward.rng).up);
    } else {
      const { up } = stack(child, pre.input, x, env);
      if (up) ups.push(up);
    }
  }
  if (ups.length === 0) return pre.input;
  const { output, probs } = layer.forward(pre.query, ups, pre.residual, env.forward.rng);
  env.fusions!.record(env.forward, fusion.name, env.layer, locationOf(env.point), () => probs.arraySync());
  return output;
}

/**
 * Split / BatchSplit / Parallel: pre_forward with the config of the first adapter, then consecutive parts along
 * `axis` go to the children, and the parts are concatenated again.
 */
function splitAlong(block: CompositionBlock, axis: 0 | 1, sizes: readonly number[], h: tf.Tensor3D, x: tf.Tensor3D, env: Env): tf.Tensor3D {
  const first = moduleOf(block, env, 'first');
  if (!first) return h;
  const pre = preForward(first.config, h, x, env.ln);
  const parts: tf.Tensor3D[] = [];
  let start = 0;
  block.children.forEach((child, i) => {
    const size = sizes[i]!;
    if (size === 0) return;
    const slice = (t: tf.Tensor3D): tf.Tensor3D => part(t, axis, start, size);
    parts.push(runChild(child, slice(pre.input), slice(x), slice(pre.residual), env));
    start += size;
  });
  return parts.length === 1 ? parts[0]! : (tf.concat(parts, axis) as tf.Tensor3D);
}

/** Split: positions per child from `splits` (the last child takes the rest), clamped to the sequence length. */
function split(block: CompositionBlock, h: tf.Tensor3D, x: tf.Tensor3D, env: Env): tf.Tensor3D {
  const S = h.shape[1];
  const sizes: number[] = [];
  let used = 0;
  for (const s of block.splits ?? []) {
    const size = Math.max(0, Math.min(s, S - used));
    sizes.push(size);
    used += size;
  }
  sizes.push(S - used);
  return splitAlong(block, 1, sizes, h, x, env);
}

/**
 * BatchSplit (rows per child from `batchSizes`) and Parallel (channel i = row block i; core replicated the batch at
 * the embeddings output): each child runs on its rows.
 */
function routeRows(block: CompositionBlock, h: tf.Tensor3D, x: tf.Tensor3D, env: Env): tf.Tensor3D {
  return splitAlong(block, 0, blockRowSizes(block, h.shape[0], env), h, x, env);
}

/**
 * Average (`adapters`' `compose_average` + `mean`): pre_forward with the first adapter's config, then the children's
 * outputs o_i (residual included) are combined as **(1/N)·Σ w_i o_i** over the N children that act here — exactly
 * what `adapters` computes (`torch.mean(stack(o) * w, 0)`), i.e. the weighted average scaled by 1/N. For the plain
 * weighted average Σ w_i o_i, pass `Average(children, weights.map((w) => w * N), false)`.
 */
function average(block: CompositionBlock, h: tf.Tensor3D, x: tf.Tensor3D, env: Env): tf.Tensor3D {
  const first = moduleOf(block, env, 'first');
  if (!first) return h;
  const pre = preForward(first.config, h, x, env.ln);
  const terms: tf.Tensor[] = [];
  block.children.forEach((child, i) => {
    if (typeof child === 'string' && !env.modules.has(child)) return;
    terms.push(tf.mul(runChild(child, pre.input, x, pre.residual, env), block.weights?.[i] ?? 1));
  });
  if (terms.length === 0) return pre.input;
  return tf.div(terms.length === 1 ? terms[0]! : tf.addN(terms), terms.length) as tf.Tensor3D;
}

/** Compose any block on hidden `h` with sub-layer residual `x` (both `[batch, seq, hidden]`). */
function compose(block: CompositionBlock, h: tf.Tensor3D, x: tf.Tensor3D, env: Env): Composed {
  switch (block.type) {
    case 'Stack':
      return stack(block, h, x, env);
    case 'Fuse':
      return { hidden: fuse(block, h, x, env) };
    case 'Split':
      return { hidden: split(block, h, x, env) };
    case 'BatchSplit':
    case 'Parallel':
      return { hidden: routeRows(block, h, x, env) };
    case 'Average':
      return { hidden: average(block, h, x, env) };
  }
}

/** Compile-time checks of a Fuse block, so a missing fusion fails at setActiveAdapters. */
function checkFuse(block: CompositionBlock, env: Env): void {
  fusionLayerFor(block, env);
  const last = lastAdapter(block);
  if (!env.modules.has(last)) {
    throw new CapabilityError(
      'FUSION_LOCATION',
      `Fuse(${adapterNames(block).join(', ')}) at '${env.point}' (layer ${env.layer}): its last adapter '${last}' has no module there, ` +
        'and AdapterFusion uses the last adapter\'s pre- and post-processing',
    );
  }
}

/**
 * The compiler of one block at a sub-layer point: composes the block from the adapters' modules (not from the
 * children's compiled chains, because inside a block single adapters skip their own pre_forward), then hands the
 * post_forward of the block's last acting adapter to `next` as its payload (see `postPayload`).
 */
function sublayerCompiler<P extends SublayerPoint>(): BlockCompiler<P> {
  return (args: BlockCompileArgs<P>) => {
    const { block, point, layer, children, context } = args;
    const modules = new Map<string, BottleneckModule>();
    let fusions: FusionRegistry | undefined;
    for (const child of children) {
      for (const instance of child.instances) {
        if (!isBottleneckInstance(instance)) continue;
        fusions = instance.fusions;
        const m = instance.module(point, layer);
        if (m) modules.set(instance.adapterName, m);
      }
    }
    const probe = adapterNames(block)[0]!;
    const envFor = (ln: LayerNormFn | undefined): Env => ({ point, layer, modules, fusions, ln, forward: context(probe).forward });
    if (block.type === 'Fuse') checkFuse(block, envFor(undefined));
    return (payload, next) => {
      const origin = originOf(payload);
      const env = envFor(origin.layerNorm);
      const { hidden } = compose(block, payload.hidden, origin.residual, env);
      return next(postPayload(moduleOf(block, env, 'last')!.config, hidden, origin));
    };
  };
}

const sublayerBlocks = { 'attention.output': sublayerCompiler<'attention.output'>(), 'ffn.output': sublayerCompiler<'ffn.output'>() };

/**
 * Every composition block of the bottleneck method: at the sub-layer points the reference's `adapter_fusion`,
 * `adapter_split`, `adapter_batchsplit`, `adapter_parallel` and `adapters`' `compose_average`; at the model-level
 * points the invertible adapter of the setup's first adapter (see INVERTIBLE_BLOCKS).
 */
export const BOTTLENECK_BLOCKS: BlockImplementations = {
  Fuse: { ...INVERTIBLE_BLOCKS.Fuse, ...sublayerBlocks },
  Split: { ...INVERTIBLE_BLOCKS.Split, ...sublayerBlocks },
  BatchSplit: { ...INVERTIBLE_BLOCKS.BatchSplit, ...sublayerBlocks },
  Parallel: { ...INVERTIBLE_BLOCKS.Parallel, ...sublayerBlocks },
  Average: { ...INVERTIBLE_BLOCKS.Average, ...sublayerBlocks },
};
