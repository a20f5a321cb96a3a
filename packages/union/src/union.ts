import packageJson from '../package.json';
import {
  AdapterConfigError,
  defineAdapterMethod,
  type AdapterConfigBase,
  type HostInfo,
  type ResolvedMember,
  type UnionConfigInput,
} from '@adapterkit/core';

/** What core hands the union validator: the members of one adapter. */
export interface UnionValidation extends AdapterConfigBase {
  readonly method: 'union';
  readonly members?: readonly ResolvedMember[];
}

const architectureOf = (m: ResolvedMember): string => m.method.architecture ?? 'bottleneck';

function describe(m: ResolvedMember): string {
  const c = m.config;
  if (architectureOf(m) !== 'bottleneck') return `${m.method.name}`;
  return `bottleneck(mh_adapter=${c['mhAdapter'] ? 'True' : 'False'}, output_adapter=${c['outputAdapter'] ? 'True' : 'False'})`;
}

/** Layers a member is placed at on a host with `numLayers` layers (all but its `leave_out`). */
function placedLayers(m: ResolvedMember, numLayers: number): number[] {
  const leaveOut = new Set(Array.isArray(m.config['leaveOut']) ? (m.config['leaveOut'] as unknown[]) : []);
  return Array.from({ length: numLayers }, (_, l) => l).filter((l) => !leaveOut.has(l));
}

/**
 * The reference's `ConfigUnion.validate`: members must not be unions; two members of the same architecture are
 * allowed only if either has a non-empty `leave_out`, or both are bottleneck configs that differ in both
 * `mh_adapter` and `output_adapter` (so `houlsby|parallel`, `pfeiffer|parallel` and `pfeiffer|houlsby` are invalid).
 *
 * With `leave_out` the reference cannot decide without the model and fails later, while building the layers. When
 * the host is known (`addAdapter`, `loadAdapter`) this checks it up front: two such members that share a layer must
 * satisfy the same rule there, else the error names the shared layers (before any weight is allocated).
 */
export function validateConfigUnion(members: readonly ResolvedMember[], host?: Pick<HostInfo, 'numLayers'>): void {
  for (let i = 0; i < members.length; i++) {
    for (let j = i + 1; j < members.length; j++) {
      const a = members[i]!;
      const b = members[j]!;
      if (architectureOf(a) !== architectureOf(b)) continue;
      const leaveOut = (m: ResolvedMember): boolean => Array.isArray(m.config['leaveOut']) && (m.config['leaveOut'] as unknown[]).length > 0;
      let where = '';
      if (leaveOut(a) || leaveOut(b)) {
        if (!host) continue;
        const other = new Set(placedLayers(b, host.numLayers));
        const shared = placedLayers(a, host.numLayers).filter((l) => other.has(l));
        if (shared.length === 0) continue;
        where = ` at layer${shared.length > 1 ? 's' : ''} ${shared.join(', ')} (their leave_out lists overlap there)`;
      }
      if (architectureOf(a) === 'bottleneck') {
        const differ = a.config['mhAdapter'] !== b.config['mhAdapter'] && a.config['outputAdapter'] !== b.config['outputAdapter'];
        if (differ) continue;
        throw new AdapterConfigError(
          'INVALID_UNION',
          `Config union members ${i} (${describe(a)}) and ${j} (${describe(b)}) cannot be combined${where}: two bottleneck adapters must differ in both mh_adapter and output_adapter`,
        );
      }
      throw new AdapterConfigError(
        'INVALID_UNION',
        `Config union members ${i} and ${j} are both '${architectureOf(a)}' and cannot be combined${where} (give them leave_out lists that together cover every layer)`,
      );
    }
  }
}

/** Mix-and-Match adapters (He et al.): prefix tuning with bottleneck 800 + a scaled parallel adapter. */
export const MAM_SPEC = 'prefix_tuning[bottleneck_size=800]|parallel';
/** UniPELT (AdapterHub 3.2.1 flavour): gated prefix (length 10) + gated Pfeiffer (rf 16) + gated LoRA (r 8, alpha 8). */
export const UNIPELT_SPEC =
  'prefix_tuning[prefix_length=10,use_gating=True]|pfeiffer[reduction_factor=16,use_gating=True]|lora[r=8,alpha=8,use_gating=True]';

/**
 * The `union` method: validates config unions (`a|b` strings, `ConfigUnion(...)`, `architecture: "union"` files)
 * and provides the `mam` and `unipelt` config names. Unions themselves are run by core (one adapter, several
 * members); this method never creates an instance of its own.
 */
export const union = defineAdapterMethod<UnionValidation>({
  name: 'union',
  architecture: 'union',
  fields: { members: { type: 'any', nullable: true } },
  defaults: { members: undefined },
  hooks: [],
  macros: { mam: MAM_SPEC, unipelt: UNIPELT_SPEC },
  meta: { package: packageJson.name, version: packageJson.version, apiVersion: packageJson.adapterkit.methodApiVersion },
  validate(config, host) {
    validateConfigUnion(config.members ?? [], host);
  },
  create() {
    throw new AdapterConfigError('UNION_IS_NOT_AN_ADAPTER', "The 'union' method only validates unions; add a union as { method: 'union', configs: [...] } or 'a|b'");
  },
  description: 'Config unions (ConfigUnion), Mix-and-Match and UniPELT',
});

/** Combine several configs (objects or strings) into one adapter: `ConfigUnion('prefix_tuning', 'parallel')`. */
export function ConfigUnion(...configs: Array<AdapterConfigBase | string>): UnionConfigInput {
  return { method: 'union', configs };
}

/** The reference's `MAMConfig()`. */
export function MAMConfig(): UnionConfigInput {
  return ConfigUnion(...MAM_SPEC.split('|'));
}

/** The reference's `UniPELTConfig()` (adapter-transformers 3.2.1: LoRA alpha 8). */
export function UniPELTConfig(): UnionConfigInput {
  return ConfigUnion(...UNIPELT_SPEC.split('|'));
}
