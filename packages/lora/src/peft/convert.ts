import { CapabilityError, FileFormatError, WeightsMismatchError, type HostInfo, type ModuleSite } from '@adapterkit/core';
import type { AttnMatrix } from '../config';
import type { LoRAConfigOverrides } from '../config';
import { ATTN_SITES, enabledSlots, LORA_EXTRA_MODULES, moduleDims, type LoRASite } from '../sites';
import { colSlice, concatRows, filled, isConstant, padTo, rowSlice, scaled, type Mat } from './matrix';
import { patternValue } from './format';

/** The PEFT weights of one wrapped module. */
export interface PeftModule {
  /** Our (reference) module path, e.g. `h.0.attn.c_attn`. */
  readonly path: string;
  /** The module's name in the PEFT file (after `base_model.model.`), for `rank_pattern`/`alpha_pattern`. */
  readonly peftName: string;
  readonly site: ModuleSite;
  readonly layer: number;
  /** File-layout tensors: LoRA `A` `[r, in]` and `B` `[out, r]`, DoRA `m` (as `[1, out]`), or (IA)³ `l`. */
  readonly tensors: { A?: Mat; B?: Mat; l?: Mat; m?: Mat };
}

/** File-layout weights of one of our modules: `lora_A` `[r·n, in]` (add mode) and `lora_B`. */
export interface SiteWeights {
  readonly A?: Mat;
  readonly B: Mat;
  /** DoRA magnitude `[1, out]`. */
  readonly m?: Mat;
}

/** How a PEFT adapter becomes one of ours: the config, and the weights of each wrapped module. */
export interface Conversion {
  readonly preset: 'ia3' | undefined;
  readonly overrides: LoRAConfigOverrides;
  /** Weights for a site of the resulting config; undefined where the PEFT file has none. */
  weights(site: LoRASite): SiteWeights | undefined;
  /** The no-op update for a site the PEFT file lacks (zero LoRA, unit (IA)³ vector). */
  identity(site: LoRASite): SiteWeights;
}

const slotWidth = (host: HostInfo): number => host.hiddenSize;

/**
 * Which q/k/v slots of a fused projection carry an update in any layer (`active`); all three when none does
 * (every choice is then exact).
 */
function fusedSlots(fused: readonly PeftModule[], active: (m: PeftModule, slot: number) => boolean): boolean[] {
  const slots = ATTN_SITES.map((_, j) => fused.some((m) => active(m, j)));
  return slots.some(Boolean) ? slots : [true, true, true];
}

/** Config flags for the wrapped sites (attention matrices, FFN intermediate, FFN output). */
function siteFlags(modules: readonly PeftModule[], fusedSlotFlags: readonly boolean[] | undefined): LoRAConfigOverrides {
  const attn: AttnMatrix[] = fusedSlotFlags
    ? ATTN_SITES.filter((_, j) => fusedSlotFlags[j]).map((a) => a.m)
    : ATTN_SITES.filter((a) => modules.some((m) => m.site === a.site)).map((a) => a.m);
  return {
    selfattnLora: attn.length > 0,
    ...(attn.length > 0 ? { attnMatrices: attn } : {}),
    intermediateLora: modules.some((m) => m.site === 'ffn.intermediate'),
    outputLora: modules.some((m) => m.site === 'ffn.outputProjection'),
    extraModules: LORA_EXTRA_MODULES.filter((e) => modules.some((m) => m.site === e.site)).map((e) => e.name),
  };
}

function numberField(peft: Record<string, unknown>, key: string, fallback: number): number {
  const v = peft[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new FileFormatError('BAD_PEFT_CONFIG', `PEFT adapter_config.json: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * PEFT LoRA → our LoRA (add mode), exactly:
 * - plain Linear modules map 1:1 (`lora_A` `[r, in]`, `lora_B` `[out, r]`);
 * - a fused q/k/v projection (GPT-2 `c_attn`) gets the slots whose rows of B are non-zero. If B is block-diagonal
 *   over those slots (as {@link exportPeftAdapter} writes it) the blocks become the grouped A/B of rank `r/n`;
 *   otherwise every slot gets the full A and its rows of B (rank r, A repeated n times);
 * - ranks that differ between modules are zero-padded to the largest, and per-module scalings (`alpha_pattern`,
 *   `use_rslora`'s α/√r) are folded into B, so one `alpha / r` holds for all.
 */
export function convertLora(peft: Record<string, unknown>, modules: readonly PeftModule[], host: HostInfo, source: string): Conversion {
  const dora = peft['use_dora'] === true;
  if (peft['bias'] !== undefined && peft['bias'] !== 'none') {
    throw new FileFormatError('PEFT_UNSUPPORTED', `${source}: bias='${String(peft['bias'])}' trains base biases, which AdapterHub LoRA cannot express`);
  }
  if (peft['layer_replication'] != null) throw new FileFormatError('PEFT_UNSUPPORTED', `${source}: layer_replication is not supported`);
  const rslora = peft['use_rslora'] === true;
  const loraAlpha = numberField(peft, 'lora_alpha', 8);
  const problems: string[] = [];
  for (const m of modules) {
    const { A, B } = m.tensors;
    const { inDim, outDim } = moduleDims(host, m.site, Math.max(m.layer, 0)); // model-level sites (layer -1) are looked up with 0
    if (dora && (!m.tensors.m || m.tensors.m.cols !== outDim)) problems.push(`${m.peftName}: DoRA needs lora_magnitude_vector [${outDim}]`);
    if (!dora && m.tensors.m) problems.push(`${m.peftName}: lora_magnitude_vector without use_dora`);
    if (!A || !B) problems.push(`${m.peftName}: needs both lora_A and lora_B`);
    else if (A.cols !== inDim || B.rows !== outDim || A.rows !== B.cols) {
      problems.push(`${m.peftName}: lora_A [${A.rows}, ${A.cols}] / lora_B [${B.rows}, ${B.cols}] do not fit a [${outDim}, ${inDim}] layer`);
    }
  }
  if (problems.length > 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}:\n  ${problems.join('\n  ')}`);
  const AB = (m: PeftModule): { A: Mat; B: Mat } => m.tensors as { A: Mat; B: Mat };
  const scalingOf = (m: PeftModule): number => {
    const r = AB(m).A.rows;
    return (patternValue(peft['alpha_pattern'], m.peftName) ?? loraAlpha) / (rslora ? Math.sqrt(r) : r);
  };

  const d = slotWidth(host);
  const fused = modules.filter((m) => m.site === 'attention.qkv');
  const slots = fused.length > 0 ? fusedSlots(fused, (m, j) => !isConstant(rowSlice(AB(m).B, j * d, d), 0)) : undefined;
  const pieces = new Map<PeftModule, Array<{ A: Mat; B: Mat }>>();
  for (const m of modules) {
    const { A, B } = AB(m);
    if (m.site !== 'attention.qkv') {
      pieces.set(m, [{ A, B }]);
      continue;
    }
    const enabled = slots!.flatMap((on, j) => (on ? [j] : []));
    const n = enabled.length;
    const k = A.rows / n;
    const block =
      Number.isInteger(k) &&
      enabled.every((j, g) => {
        const Bj = rowSlice(B, j * d, d);
        return isConstant(colSlice(Bj, 0, g * k), 0) && isConstant(colSlice(Bj, (g + 1) * k, A.rows - (g + 1) * k), 0);
      });
    pieces.set(
      m,
      enabled.map((j, g) => (block ? { A: rowSlice(A, g * k, k), B: colSlice(rowSlice(B, j * d, d), g * k, k) } : { A, B: rowSlice(B, j * d, d) })),
    );
  }
  const r = Math.max(...[...pieces.values()].flat().map((p) => p.A.rows));
  const alpha = scalingOf(modules[0]!) * r;
  const scaling = alpha / r;
  const byPath = new Map(modules.map((m) => [m.path, m]));
  return {
    preset: undefined,
    overrides: {
      ...siteFlags(modules, slots),
      r,
      alpha,
      dropout: numberField(peft, 'lora_dropout', 0),
      compositionMode: 'add',
      initWeights: 'lora',
      useGating: false,
      ...(dora ? { useDora: true } : {}),
    },
    weights(site) {
      const m = byPath.get(site.modulePath);
      if (!m) return undefined;
      const f = scalingOf(m) / scaling;
      const parts = pieces.get(m)!;
      return {
        A: concatRows(parts.map((p) => padTo(p.A, r, site.inDim)), site.inDim),
        B: concatRows(parts.map((p) => padTo(scaled(p.B, f), p.B.rows, r)), r),
        ...(m.tensors.m ? { m: m.tensors.m } : {}),
      };
    },
    identity(site) {
      if (dora) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}: DoRA adapter has no weights for '${site.modulePath}' (its magnitude cannot be made a no-op without the base weight)`);
      const n = enabledSlots(site);
      return { A: filled(r * n, site.inDim, 0), B: filled((site.outDim / site.slots.length) * n, r, 0) };
    },
  };
}

/**
 * PEFT (IA)³ → our (IA)³ (scale mode, r = alpha = 1), exactly. Only output-scaling (non-feed-forward) vectors
 * `[out, 1]` are representable: PEFT's feed-forward vectors `[1, in]` scale a layer's input, which the reference
 * (and so this package) has no place for. On a fused q/k/v projection, slots whose vector is all ones in every
 * layer are left out.
 */
export function convertIa3(modules: readonly PeftModule[], host: HostInfo, source: string): Conversion {
  const problems: string[] = [];
  for (const m of modules) {
    const l = m.tensors.l!;
    const { inDim, outDim } = moduleDims(host, m.site, m.layer);
    if (l.rows === 1 && l.cols === inDim && !(outDim === 1 && inDim === 1)) {
      throw new CapabilityError(
        'PEFT_UNSUPPORTED',
        `${source}: '${m.peftName}' is a PEFT feed-forward (IA)³ module (ia3_l [1, ${inDim}] scales the layer input); AdapterHub (IA)³ only scales layer outputs`,
      );
    }
    if (l.rows !== outDim || l.cols !== 1) problems.push(`${m.peftName}.ia3_l: expected [${outDim}, 1], got [${l.rows}, ${l.cols}]`);
  }
  if (problems.length > 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}:\n  ${problems.join('\n  ')}`);
  const d = slotWidth(host);
  const fused = modules.filter((m) => m.site === 'attention.qkv');
  const slots = fused.length > 0 ? fusedSlots(fused, (m, j) => !isConstant(rowSlice(m.tensors.l!, j * d, d), 1)) : undefined;
  const byPath = new Map(modules.map((m) => [m.path, m]));
  return {
    preset: 'ia3',
    overrides: siteFlags(modules, slots),
    weights(site) {
      const l = byPath.get(site.modulePath)?.tensors.l;
      if (!l) return undefined;
      if (site.slots.length === 1) return { B: l };
      return { B: concatRows(site.slots.flatMap((on, j) => (on ? [rowSlice(l, j * d, d)] : [])), 1) };
    },
    identity(site) {
      return { B: filled((site.outDim / site.slots.length) * enabledSlots(site), 1, 1) };
    },
  };
}
