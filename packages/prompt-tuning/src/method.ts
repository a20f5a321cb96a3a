import * as tf from '@tensorflow/tfjs-core';
import packageJson from '../package.json';
import { CapabilityError, defineAdapterMethod, init, type CreateContext, type Handler, type MethodInstance } from '@adapterkit/core';
import {
  PROMPT_TUNING,
  PROMPT_TUNING_DEFAULTS,
  PROMPT_TUNING_FIELDS,
  PROMPT_TUNING_PRESETS,
  RANDOM_UNIFORM_SCALE,
  validatePromptTuningConfig,
  type PromptTuningConfig,
} from './config';

/** Package version written into the method's metadata. */

/** Reference key of the prompt of adapter `name`: an `nn.Embedding` weight `[promptLength, hidden]`. */
export function promptKey(name: string): string {
  return `prompt_tuning.prompt_tunings.${name}.prompt_embedding.weight`;
}

/**
 * Insert the prompt `[P, H]` into embeddings `[B, S, H]`: `prefix` → `[prompt; x]`, `prefix_after_bos` →
 * `[x_0; prompt; x_1..]`. Returns `[B, P + S, H]`.
 */
export function combinePrompt(x: tf.Tensor3D, prompt: tf.Tensor2D, combine: PromptTuningConfig['combine']): tf.Tensor3D {
  const [B, S, H] = x.shape;
  const p = tf.tile(tf.expandDims(prompt, 0), [B, 1, 1]) as tf.Tensor3D;
  if (combine === 'prefix') return tf.concat([p, x], 1);
  return tf.concat([tf.slice(x, [0, 0, 0], [B, 1, H]), p, tf.slice(x, [0, 1, 0], [B, S - 1, H])], 1);
}

function create(ctx: CreateContext<PromptTuningConfig>): MethodInstance {
  const { config, host, name } = ctx;
  if (host.supportsPromptTuning !== true) {
    // adapters 1.1: models with support_prompt_tuning = False accept the config and add nothing.
    ctx.warn?.(`prompt_tuning adapter '${name}': the ${host.modelType} host does not support prompt tuning (as in adapters 1.1); the adapter adds nothing`);
    return { handlers: {} };
  }
  if (config.promptInit === 'from_string') {
    throw new CapabilityError(
      'PROMPT_INIT_NEEDS_TOKENIZER',
      `prompt_tuning adapter '${name}': prompt_init='from_string' needs a tokenizer to embed '${String(config.promptInitText)}', which AdapterModel does not have; use 'random_uniform' (or load trained weights with loadAdapter)`,
    );
  }
  const P = config.promptLength;
  const prompt = ctx.params.add(promptKey(name), init.uniform(ctx.rng, [P, host.hiddenSize], -RANDOM_UNIFORM_SCALE, RANDOM_UNIFORM_SCALE)) as tf.Tensor as tf.Tensor2D;
  const handler: Handler<'embeddings.output'> = (x, next, hctx) => {
    // The reference applies only the first adapter of the active setup (PromptTuningLayer: setup.first()).
    if (hctx.forward.firstAdapter !== undefined && hctx.forward.firstAdapter !== hctx.adapter) return next(x);
    return next(combinePrompt(x, prompt, config.combine));
  };
  return { handlers: { 'embeddings.output': (layer) => (layer === -1 ? handler : undefined) } };
}

/**
 * Prompt tuning (Lester et al. 2021) as in `adapters` 1.1: `prompt_length` trainable vectors
 * (`prompt_tuning.prompt_tunings.<name>.prompt_embedding.weight` `[P, hidden]`) are inserted into the output of the
 * input embeddings (after their LayerNorm and dropout, so they get no position or token-type embedding), and the
 * host prepends P attended positions to its attention mask. Outputs get P more positions. On hosts without
 * `HostInfo.supportsPromptTuning` (GPT-2, Llama in `adapters` 1.1) the adapter adds nothing and warns.
 */
export const promptTuning = defineAdapterMethod<PromptTuningConfig>({
  name: PROMPT_TUNING,
  architecture: PROMPT_TUNING,
  fields: PROMPT_TUNING_FIELDS,
  defaults: PROMPT_TUNING_DEFAULTS,
  presets: PROMPT_TUNING_PRESETS,
  validate: validatePromptTuningConfig,
  hooks: ['embeddings.output'],
  create,
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
  description: 'Prompt tuning: a trainable soft prompt prepended to the input embeddings',
});
