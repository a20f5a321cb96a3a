import { FileFormatError, WeightsMismatchError, type TensorEntry } from '@adapterkit/core';
import { PEFT_KEY_PREFIX } from './format';

/** Keys of PEFT VeRA's shared frozen projections (`save_projection=True`). */
export const VERA_SHARED = { A: 'base_model.vera_A', B: 'base_model.vera_B' } as const;

/**
 * PEFT VeRA (Kopiczko et al. 2024) → the equivalent PEFT LoRA, exactly. VeRA keeps one shared frozen pair
 * `vera_A` `[r, max_in]`, `vera_B` `[max_out, r]` and per module `vera_lambda_d` `[r]`, `vera_lambda_b` `[out]`:
 * `ΔW = (λ_b ⊙ B[:out]) · (λ_d ⊙ A[:, :in])` with no scaling, which is a rank-r LoRA with `lora_A = λ_d ⊙ A[:, :in]`,
 * `lora_B = λ_b ⊙ B[:out]` and `lora_alpha = r`.
 *
 * The shared pair must be in the file (`save_projection: true`, PEFT's default): without it PEFT regenerates it
 * from `torch.Generator().manual_seed(projection_prng_key)` (kaiming-uniform, A drawn first), a PRNG stream that
 * only torch reproduces.
 */
export function veraToLora(
  peft: Record<string, unknown>,
  tensors: ReadonlyMap<string, TensorEntry>,
  source: string,
  inDimOf: (peftModule: string) => number | undefined,
): { peft: Record<string, unknown>; tensors: Map<string, TensorEntry> } {
  const A = tensors.get(VERA_SHARED.A);
  const B = tensors.get(VERA_SHARED.B);
  if (!A || !B) {
    throw new FileFormatError(
      'PEFT_UNSUPPORTED',
      `${source}: VeRA file without '${VERA_SHARED.A}' / '${VERA_SHARED.B}' (save_projection=${JSON.stringify(peft['save_projection'])}): PEFT regenerates them with torch's PRNG (projection_prng_key ${JSON.stringify(peft['projection_prng_key'])}), which cannot be reproduced outside torch; save the adapter with save_projection=True`,
    );
  }
  if (A.shape.length !== 2 || B.shape.length !== 2 || A.shape[0] !== B.shape[1] || !(A.data instanceof Float32Array) || !(B.data instanceof Float32Array)) {
    throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}: vera_A [${A.shape.join(', ')}] / vera_B [${B.shape.join(', ')}] are not an [r, in] / [out, r] float pair`);
  }
  const [r, maxIn] = A.shape as [number, number];
  const maxOut = B.shape[0]!;
  const out = new Map<string, TensorEntry>();
  const problems: string[] = [];
  const modules = new Set<string>();
  for (const key of tensors.keys()) {
    if (key === VERA_SHARED.A || key === VERA_SHARED.B) continue;
    const m = /^(.*)\.vera_lambda_[bd]$/.exec(key);
    if (!m || !key.startsWith(PEFT_KEY_PREFIX)) problems.push(`unexpected: ${key}`);
    else modules.add(m[1]!);
  }
  for (const mod of modules) {
    const lb = tensors.get(`${mod}.vera_lambda_b`);
    const ld = tensors.get(`${mod}.vera_lambda_d`);
    if (!lb || !ld || lb.shape.length !== 1 || ld.shape.length !== 1 || ld.shape[0] !== r || lb.shape[0]! > maxOut) {
      problems.push(`${mod}: needs vera_lambda_b [out ≤ ${maxOut}] and vera_lambda_d [${r}]`);
      continue;
    }
    const outDim = lb.shape[0]!;
    const lbd = lb.data as Float32Array;
    const ldd = ld.data as Float32Array;
    // The module's input width is not in the file: PEFT slices A[:, :in] with the wrapped layer's in_features.
    const inDim = inDimOf(mod) ?? maxIn;
    if (inDim > maxIn) {
      problems.push(`${mod}: input width ${inDim} exceeds vera_A's ${maxIn} columns`);
      continue;
    }
    const la = new Float32Array(r * inDim);
    for (let k = 0; k < r; k++) for (let i = 0; i < inDim; i++) la[k * inDim + i] = ldd[k]! * (A.data as Float32Array)[k * maxIn + i]!;
    const lbm = new Float32Array(outDim * r);
    for (let o = 0; o < outDim; o++) for (let k = 0; k < r; k++) lbm[o * r + k] = lbd[o]! * (B.data as Float32Array)[o * r + k]!;
    out.set(`${mod}.lora_A.weight`, { dtype: 'F32', shape: [r, inDim], data: la });
    out.set(`${mod}.lora_B.weight`, { dtype: 'F32', shape: [outDim, r], data: lbm });
  }
  if (problems.length > 0) throw new WeightsMismatchError('PEFT_WEIGHTS_MISMATCH', `${source}:\n  ${problems.join('\n  ')}`);
  return {
    peft: { peft_type: 'LORA', r, lora_alpha: r, lora_dropout: peft['vera_dropout'] ?? 0, bias: peft['bias'] ?? 'none', target_modules: peft['target_modules'] },
    tensors: out,
  };
}
