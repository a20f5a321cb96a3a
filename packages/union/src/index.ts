/**
 * @adapterkit/union — config unions with the reference's validation, Mix-and-Match (`mam`) and UniPELT (`unipelt`).
 */
export { union, validateConfigUnion, type UnionValidation, ConfigUnion, MAMConfig, UniPELTConfig, MAM_SPEC, UNIPELT_SPEC } from './union';
import { union } from './union';

/** Install with `methods: [...plugins, bottleneck, prefixTuning, lora]`. */
export const plugins = [union] as const;
