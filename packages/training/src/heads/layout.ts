import type { TransformerHost } from '@adapterkit/core';
import { isLmHead, type HeadConfig } from './config';

/**
 * One module of a head, numbered as the reference's `nn.Sequential` numbers it, so parameter keys are
 * `heads.<name>.<index>.{weight,bias}`.
 */
export type HeadModule =
  | { readonly index: number; readonly kind: 'dropout'; readonly rate: number }
  | { readonly index: number; readonly kind: 'linear'; readonly inFeatures: number; readonly outFeatures: number; readonly bias: boolean }
  /** The last Linear of an LM head: weight tied to the input embeddings `[vocab, hidden]`, own bias. */
  | { readonly index: number; readonly kind: 'tied'; readonly outFeatures: number; readonly bias: boolean }
  | { readonly index: number; readonly kind: 'activation'; readonly name: string }
  | { readonly index: number; readonly kind: 'layerNorm'; readonly size: number; readonly eps: number };

/** Host hyper-parameters heads depend on. */
export interface HostHyper {
  /** `hidden_dropout_prob` (default dropout of classification/tagging heads). */
  readonly hiddenDropout: number;
  /** `initializer_range`: std of the normal init of head weights. */
  readonly initializerRange: number;
  /** Epsilon of LM-head LayerNorms. */
  readonly layerNormEps: number;
}

/**
 * Read the hyper-parameters heads need from a host. Core's `HostInfo` does not carry them; hosts of
 * `@adapterkit/models` expose their parsed config as `host.config`, other hosts get transformers' BERT defaults.
 * Head LayerNorms use the config's `headLayerNormEps` (the reference's `getattr(config, "layer_norm_eps", 1e-12)`:
 * 1e-12 on GPT-2, whose config names it `layer_norm_epsilon`), else `layerNormEps`.
 */
export function hostHyper(host: TransformerHost): HostHyper {
  const cfg = (host as { config?: Partial<{ hiddenDropout: number; initializerRange: number; layerNormEps: number; headLayerNormEps: number }> }).config ?? {};
  return {
    hiddenDropout: cfg.hiddenDropout ?? 0.1,
    initializerRange: cfg.initializerRange ?? 0.02,
    layerNormEps: cfg.headLayerNormEps ?? cfg.layerNormEps ?? 1e-12,
  };
}

/**
 * The module list of a head, as the reference builds it.
 *
 * - classification / tagging / multiple choice (`PredictionHead.build`): per layer a Dropout (only if the rate is
 *   > 0), then `Linear(h, h)` + activation for all but the last layer, and `Linear(h, num_labels)` last (multiple
 *   choice: `Linear(h, 1)`, one score per choice). For layers=2 and dropout 0.1: `0 Dropout, 1 Linear, 2 act,
 *   3 Dropout, 4 Linear`.
 * - LM heads (`CausalLMHead.build`): per extra layer `Linear(h, h)`, activation, LayerNorm (if `layer_norm`); then
 *   the tied `Linear(h, vocab)`. Masked LM: `0 Linear, 1 act, 2 LayerNorm, 3 tied Linear`. No dropout.
 */
export function headModules(c: HeadConfig, hidden: number, hyper: HostHyper): HeadModule[] {
  const mods: HeadModule[] = [];
  const push = (m: HeadModule extends infer U ? (U extends HeadModule ? Omit<U, 'index'> : never) : never): void => {
    mods.push({ ...m, index: mods.length } as HeadModule);
  };
  if (isLmHead(c.headType)) {
    for (let l = 0; l < c.layers - 1; l++) {
      push({ kind: 'linear', inFeatures: hidden, outFeatures: hidden, bias: true });
      if (c.activationFunction) push({ kind: 'activation', name: c.activationFunction });
      if (c.layerNorm) push({ kind: 'layerNorm', size: hidden, eps: hyper.layerNormEps });
    }
    push({ kind: 'tied', outFeatures: c.vocabSize!, bias: c.bias });
    return mods;
  }
  const rate = c.dropoutProb ?? hyper.hiddenDropout;
  for (let l = 0; l < c.layers; l++) {
    if (rate > 0) push({ kind: 'dropout', rate });
    if (l < c.layers - 1) {
      push({ kind: 'linear', inFeatures: hidden, outFeatures: hidden, bias: true });
      if (c.activationFunction) push({ kind: 'activation', name: c.activationFunction });
    } else {
      push({ kind: 'linear', inFeatures: hidden, outFeatures: c.headType === 'multiple_choice' ? 1 : c.numLabels!, bias: c.bias });
    }
  }
  return mods;
}
