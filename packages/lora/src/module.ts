import * as tf from '@tensorflow/tfjs-core';
import { CapabilityError, dropout, init, linear, type ParamCollector, type Rng } from '@adapterkit/core';
import type { CompositionMode } from './config';
import type { LoRAConfig } from './config';
import { enabledSlots, type LoRASite } from './sites';

/**
 * The LoRA / (IA)³ module on one dense layer (the reference's `LoRA` inside `LoRALinear` / `LoRAMergedLinear`).
 * With `n` enabled output slots, `d = out / slots` and rank `r`, parameters are (file layout, reference keys):
 * - `<path>.loras.<name>.lora_A` `[r·n, in]` (add mode only),
 * - `<path>.loras.<name>.lora_B` `[d·n, r]` (add) or `[d·n, 1]` (scale),
 * - `<path>.loras.<name>.gate.{weight [n, in], bias [n]}` (use_gating).
 *
 * Slot `g` of a fused projection uses rows `g·r..` of A and rows `g·d..` of B (the reference's grouped conv1d);
 * disabled slots get no update (add) or a factor of 1 (scale).
 */
export class LoRAModule {
  readonly site: LoRASite;
  readonly mode: CompositionMode;
  readonly r: number;
  /** `alpha / r`, replaced by the gate when gating. */
  readonly scaling: number;
  readonly dropout: number;
  /** Memory `[in, r·n]` (add mode). */
  readonly loraA: tf.Variable | undefined;
  /** Memory `[r, d·n]` (add mode) or `[d·n, 1]` (scale mode). */
  readonly loraB: tf.Variable;
  /** Memory `[in, n]`. */
  readonly gateWeight: tf.Variable | undefined;
  /** `[n]`. */
  readonly gateBias: tf.Variable | undefined;
  /** DoRA magnitude `m` `[out]` (`lora_magnitude_vector`). */
  readonly magnitude: tf.Variable | undefined;
  /** The frozen base weight (memory `[in, out]`) and bias `[out]` DoRA rescales. */
  private readonly base: { readonly weight: tf.Variable; readonly bias: tf.Variable | undefined } | undefined;
  private readonly n: number;
  private readonly d: number;

  constructor(site: LoRASite, config: LoRAConfig, name: string, params: ParamCollector, rng: Rng, baseParameters?: ReadonlyMap<string, tf.Variable>) {
    this.site = site;
    this.mode = config.compositionMode;
    this.r = config.r;
    this.scaling = config.alpha / (config.useRslora ? Math.sqrt(config.r) : config.r);
    this.dropout = config.dropout;
    this.n = enabledSlots(site);
    this.d = site.outDim / site.slots.length;
    const { inDim } = site;
    const rn = this.r * this.n;
    const dn = this.d * this.n;
    const key = `${site.modulePath}.loras.${name}`;
    const initial = (shape: number[], loraInit: () => tf.Tensor): tf.Tensor => {
      switch (config.initWeights) {
        case 'lora':
          return loraInit();
        case 'bert':
          return init.normal(rng, shape, 0.02);
        case 'ia3':
          return init.ones(shape);
      }
    };
    if (this.mode === 'add') {
      this.loraA = params.add(`${key}.lora_A`, initial([inDim, rn], () => init.kaimingUniform(rng, [inDim, rn], inDim)), { layout: 'linear' });
      this.loraB = params.add(`${key}.lora_B`, initial([this.r, dn], () => init.zeros([this.r, dn])), { layout: 'linear' });
    } else {
      this.loraA = undefined;
      this.loraB = params.add(`${key}.lora_B`, initial([dn, 1], () => init.zeros([dn, 1])));
    }
    if (config.useGating) {
      this.gateWeight = params.add(`${key}.gate.weight`, init.normal(rng, [inDim, this.n], 0.02), { layout: 'linear' });
      // nn.Linear's default bias init, which the reference keeps: U(±1/√in)
      this.gateBias = params.add(`${key}.gate.bias`, init.kaimingUniform(rng, [this.n], inDim));
    } else {
      this.gateWeight = undefined;
      this.gateBias = undefined;
    }
    if (config.useDora) {
      const weight = baseParameters?.get(`${site.modulePath}.weight`);
      if (!weight || weight.rank !== 2 || weight.shape[0] !== inDim || weight.shape[1] !== site.outDim) {
        throw new CapabilityError('MISSING_BASE_WEIGHT', `DoRA needs the base weight '${site.modulePath}.weight' [in ${inDim}, out ${site.outDim}] of the host`);
      }
      this.base = { weight, bias: baseParameters?.get(`${site.modulePath}.bias`) };
      // PEFT: m = ‖W + s·B·A‖ per output row when the layer is created (B = 0 with the default init, so ‖W‖).
      this.magnitude = params.add(`${key}.lora_magnitude_vector`, tf.tidy(() => this.weightNorm()));
    } else {
      this.base = undefined;
      this.magnitude = undefined;
    }
  }

  /** DoRA: `‖W + s·B·A‖` per output (memory `[in, out]`: the norm over axis 0), `[out]`. */
  weightNorm(): tf.Tensor1D {
    const W = this.base!.weight as tf.Tensor as tf.Tensor2D;
    const V = tf.add(W, tf.mul(linear(this.loraA as tf.Tensor2D, this.denseB()), this.scaling));
    return tf.sqrt(tf.sum(tf.square(V), 0)) as tf.Tensor1D;
  }

  /** DoRA: the merged weight `m ⊙ V / ‖V‖` (memory `[in, out]`), for {@link LoRAInstance.merge}. */
  doraWeight(): tf.Tensor2D {
    return tf.tidy(() => {
      const W = this.base!.weight as tf.Tensor as tf.Tensor2D;
      const V = tf.add(W, tf.mul(linear(this.loraA as tf.Tensor2D, this.denseB()), this.scaling));
      return tf.mul(V, tf.div(this.magnitude!, this.weightNorm())) as tf.Tensor2D;
    });
  }

  /** Concatenate per-slot pieces over the output axis: `piece(g)` for enabled slot number g, `fill` otherwise. */
  private bySlot(axis: number, piece: (g: number) => tf.Tensor, fill: () => tf.Tensor): tf.Tensor {
    let g = 0;
    return tf.concat(this.site.slots.map((on) => (on ? piece(g++) : fill())), axis);
  }

  /**
   * B as one dense matrix on the full output, memory `[r·n, out]`: block-diagonal over the enabled slots, zero
   * columns for disabled slots (for a plain Linear: B itself). `x·A·denseB()` is the reference's grouped update.
   */
  denseB(): tf.Tensor2D {
    const { r, n, d } = this;
    const B = this.loraB as tf.Tensor2D;
    if (this.site.slots.length === 1) return B;
    return this.bySlot(
      1,
      (g) => tf.pad(tf.slice(B, [0, g * d], [r, d]), [[g * r, (n - 1 - g) * r], [0, 0]]),
      () => tf.zeros([r * n, d]),
    ) as tf.Tensor2D;
  }

  /** The (IA)³ vector on the full output `[out]`, 1 on disabled slots (without the alpha / r factor). */
  denseScale(): tf.Tensor1D {
    const l = tf.reshape(this.loraB, [-1]) as tf.Tensor1D;
    if (this.site.slots.length === 1) return l;
    const { d } = this;
    return this.bySlot(0, (g) => tf.slice(l, [g * d], [d]), () => tf.ones([d])) as tf.Tensor1D;
  }

  /** The gate `mean_seq σ(x·W_g + b_g)` expanded to the output, `[batch, 1, out]` (`[batch, 1, 1]` for one slot). */
  private gate(x: tf.Tensor3D): tf.Tensor3D {
    const g = tf.mean(tf.sigmoid(linear(x, this.gateWeight as tf.Tensor2D, this.gateBias as tf.Tensor1D)), 1) as tf.Tensor2D; // [B, n]
    const [batch] = g.shape;
    if (this.site.slots.length === 1) return tf.reshape(g, [batch, 1, 1]);
    const { d } = this;
    const expanded = this.bySlot(1, (i) => tf.tile(tf.slice(g, [0, i], [batch, 1]), [1, d]), () => tf.ones([batch, d]));
    return tf.reshape(expanded, [batch, 1, -1]);
  }

  /**
   * The adapted projection output. x `[batch, seq, in]`, y `[batch, seq, out]` (frozen output, bias included).
   * add: `y + s·(drop(x)·A)·B`; scale: `y ⊙ s·ℓ`; `s` = alpha / r, or the gate.
   */
  apply(x: tf.Tensor3D, y: tf.Tensor3D, rng: Rng | undefined): tf.Tensor3D {
    if (this.mode === 'scale') {
      const l = this.denseScale();
      return tf.mul(y, this.gateWeight ? tf.mul(l, this.gate(x)) : tf.mul(l, this.scaling));
    }
    const input = rng && this.dropout > 0 ? dropout(x, this.dropout, rng) : x;
    const delta = linear(linear(input, this.loraA as tf.Tensor2D), this.denseB());
    if (this.magnitude) return this.applyDora(input, y, delta, input !== x);
    return tf.add(y, tf.mul(delta, this.gateWeight ? this.gate(x) : this.scaling));
  }

  /**
   * PEFT 0.14 DoRA (`DoraLinearLayer.forward`): `y + (k − 1)·x·W + k·s·x·A·B` with `k = m / ‖W + s·B·A‖` (the norm
   * detached: no gradient flows through it). `x·W` is `y − b` unless dropout changed the input.
   */
  private applyDora(input: tf.Tensor3D, y: tf.Tensor3D, delta: tf.Tensor3D, dropped: boolean): tf.Tensor3D {
    const { weight, bias } = this.base!;
    const k = tf.div(this.magnitude!, detach(this.weightNorm()));
    const baseOut = dropped ? linear(input, weight as tf.Tensor as tf.Tensor2D) : bias ? tf.sub(y, bias) : y;
    return tf.add(tf.add(y, tf.mul(tf.sub(k, 1), baseOut)), tf.mul(tf.mul(delta, this.scaling), k)) as tf.Tensor3D;
  }

  /** Weight update for merging (no gate): add mode `s·A·B` `[in, out]`; scale mode `s·ℓ` `[out]`. */
  mergeDelta(): tf.Tensor {
    return tf.tidy(() =>
      this.mode === 'add'
        ? tf.mul(linear(this.loraA as tf.Tensor2D, this.denseB()), this.scaling)
        : tf.mul(this.denseScale(), this.scaling),
    );
  }
}

/** The identity with a zero gradient (torch's `.detach()`). */
const detach = tf.customGrad(((x: tf.Tensor, _save: tf.GradSaveFunc) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]) as <T extends tf.Tensor>(x: T) => T;
