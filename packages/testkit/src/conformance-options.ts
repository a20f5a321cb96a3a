import * as tf from '@tensorflow/tfjs-core';
import {
  isMethodExtension,
  type AdapterConfigFor,
  type AdapterConfigInput,
  type AnyAdapterMethod,
  type MethodExtension,
  type NamedParam,
} from '@adapterkit/core';
import type { BackendName } from '@adapterkit/backends';
import { CONFORMANCE_HOSTS, type ConformanceHostKind } from './conformance-hosts';

/** A method or an extension, as passed in `new AdapterModel(host, { methods })`. */
export type AdapterPlugin = AnyAdapterMethod | MethodExtension;

/**
 * The checks of the conformance suite. Per config × host: `addDelete`, `identity`, `training`, `saveLoad`, `leaks`,
 * `capability`; per config: `configString`, `union`; once per suite: `hooks`.
 */
export type ConformanceCheck = 'addDelete' | 'identity' | 'training' | 'saveLoad' | 'configString' | 'union' | 'capability' | 'hooks' | 'leaks';

/** What each check asserts (used in test names). */
export const CONFORMANCE_CHECKS: Readonly<Record<ConformanceCheck, string>> = {
  addDelete: 'add/delete leave tf.memory().numTensors unchanged',
  identity: "its zero state reproduces the base model's outputs",
  training: "one training step changes only this adapter's variables",
  saveLoad: 'save → load gives identical weights and outputs',
  configString: 'config strings round-trip (formatAdapterSpec ∘ parseAdapterSpec is stable and resolves to the same config)',
  union: 'a union of the config with itself is rejected',
  capability: 'a host lacking one of its hook points gives a CapabilityError',
  hooks: 'every declared hook point is called in a forward, and every config acts somewhere',
  leaks: 'tf.memory().numTensors stays flat over 20 forwards',
};

/** Checks to skip, each with the reason (printed as the name of a skipped test). */
export type ConformanceExclusions = Partial<Readonly<Record<ConformanceCheck, string>>>;

/**
 * Puts a freshly added adapter into its "zero" state, where the model must compute exactly what the base model
 * computes (e.g. zero the up-projections of a bottleneck adapter). Receives the adapter's parameters.
 */
export type ZeroInit = (params: readonly NamedParam[]) => void;

/**
 * One config of the suite with its own options. `M` is the union of the installed methods, so config objects are
 * typed as in `AdapterModel.addAdapter`.
 */
export interface ConformanceConfig<M extends AnyAdapterMethod = AnyAdapterMethod> {
  /** A config string (`'pfeiffer[reduction_factor=4]'`), a config object of an installed method, or a union object. */
  readonly config: AdapterConfigFor<M>;
  /** Test-name label (default: the string, or the object as JSON). */
  readonly label?: string;
  /** How to zero this config's adapter (default: the suite's `zeroInit`, else see {@link ConformanceOptions.zeroInit}). */
  readonly zeroInit?: ZeroInit;
  /** Checks to skip for this config, with reasons (added to the suite's). */
  readonly exclude?: ConformanceExclusions;
}

/** Options of `describeAdapterMethod`; `M` is the union of the installed methods (inferred). */
export interface ConformanceOptions<M extends AnyAdapterMethod = AnyAdapterMethod> {
  /** Configs to check: strings, config objects, or {@link ConformanceConfig}s. At least one. */
  readonly configs: ReadonlyArray<AdapterConfigFor<M> | ConformanceConfig<M>>;
  /** Hosts to run on (default: bert, roberta, gpt2). */
  readonly hosts?: readonly ConformanceHostKind[];
  /** Checks to skip for every config, with reasons. */
  readonly exclude?: ConformanceExclusions;
  /** Other plugins the configs need (e.g. `@adapterkit/bottleneck`'s for an extension, `@adapterkit/union`'s). */
  readonly extraPlugins?: readonly AdapterPlugin[];
  /**
   * Default zero state of every config. Without it, an adapter that already reproduces the base model when added
   * passes as is; otherwise the parameters matching {@link DEFAULT_ZERO_PATTERN} are zeroed first.
   */
  readonly zeroInit?: ZeroInit;
  /** Backend of the suite (default `cpu`, set in `beforeAll` with core's `initBackend`). */
  readonly backend?: BackendName;
  /** Largest |difference| accepted where outputs must match (default 1e-6). */
  readonly atol?: number;
  /** Suite title (default: the names of the plugins under test). */
  readonly title?: string;
}

/**
 * Parameters zeroed to reach the zero state when no `zeroInit` is given: bottleneck up-projections
 * (`adapter_up.*`, PHM `W_up*`), LoRA `lora_B`, and `*.delta` parameters.
 */
export const DEFAULT_ZERO_PATTERN = /(^|\.)adapter_up(\.|$)|(^|\.)W_up(_left|_right)?$|(^|\.)lora_B$|(^|\.)delta$/;

/** A {@link ZeroInit} that zeroes every parameter whose key matches `pattern`. */
export function zeroParams(pattern: RegExp): ZeroInit {
  return (params) => {
    zeroMatching(params, pattern);
  };
}

/** Zero the parameters whose key matches `pattern`; returns their keys. */
export function zeroMatching(params: readonly NamedParam[], pattern: RegExp): string[] {
  const hit = params.filter((p) => pattern.test(p.key));
  for (const p of hit) {
    const zero = tf.zerosLike(p.variable);
    p.variable.assign(zero);
    zero.dispose();
  }
  return hit.map((p) => p.key);
}

/** A config of the suite after defaults were applied. */
export interface NormalizedConfig {
  readonly input: AdapterConfigInput;
  readonly label: string;
  readonly zeroInit?: ZeroInit;
  readonly exclude: ConformanceExclusions;
}

/** The suite after defaults were applied and exclusions were checked. */
export interface NormalizedSuite {
  readonly title: string;
  /** The plugins under test. */
  readonly subject: readonly AdapterPlugin[];
  /** Every plugin installed in the suite's models: the subject, then `extraPlugins`. */
  readonly plugins: readonly AdapterPlugin[];
  readonly configs: readonly NormalizedConfig[];
  readonly hosts: readonly ConformanceHostKind[];
  readonly exclude: ConformanceExclusions;
  readonly backend: BackendName;
  readonly atol: number;
}

function isConformanceConfig(c: AdapterConfigFor<AnyAdapterMethod> | ConformanceConfig): c is ConformanceConfig {
  return typeof c === 'object' && c !== null && 'config' in c && !('method' in c);
}

/** A short label of a config for test names. */
export function configLabel(input: AdapterConfigInput): string {
  return typeof input === 'string' ? input : JSON.stringify(input);
}

function checkExclusions(exclude: ConformanceExclusions | undefined, where: string): ConformanceExclusions {
  for (const [check, reason] of Object.entries(exclude ?? {})) {
    if (!(check in CONFORMANCE_CHECKS)) {
      throw new Error(`${where}: unknown conformance check '${check}' in exclude (checks: ${Object.keys(CONFORMANCE_CHECKS).join(', ')})`);
    }
    if (typeof reason !== 'string' || reason.trim() === '') {
      throw new Error(`${where}: the exclusion of '${check}' needs a reason (a non-empty string)`);
    }
  }
  return exclude ?? {};
}

/** Apply defaults, check exclusions (known check, non-empty reason) and hosts; throws a plain Error on misuse. */
export function normalizeSuite(subject: AdapterPlugin | readonly AdapterPlugin[], options: ConformanceOptions<AnyAdapterMethod>): NormalizedSuite {
  const list: readonly AdapterPlugin[] = Array.isArray(subject) ? subject : [subject as AdapterPlugin];
  if (list.length === 0) throw new Error('describeAdapterMethod: no method or extension to test');
  if (options.configs.length === 0) throw new Error('describeAdapterMethod: options.configs is empty');
  const hosts = options.hosts ?? CONFORMANCE_HOSTS;
  for (const h of hosts) {
    if (!CONFORMANCE_HOSTS.includes(h)) throw new Error(`describeAdapterMethod: unknown host '${h}' (hosts: ${CONFORMANCE_HOSTS.join(', ')})`);
  }
  const exclude = checkExclusions(options.exclude, 'describeAdapterMethod');
  const configs = options.configs.map((c): NormalizedConfig => {
    const own: ConformanceConfig = isConformanceConfig(c) ? c : { config: c };
    const input = own.config as AdapterConfigInput;
    const label = own.label ?? configLabel(input);
    const zeroInit = own.zeroInit ?? options.zeroInit;
    return {
      input,
      label,
      ...(zeroInit ? { zeroInit } : {}),
      exclude: { ...exclude, ...checkExclusions(own.exclude, `describeAdapterMethod config ${label}`) },
    };
  });
  const names = list.map((p) => (isMethodExtension(p) ? `${p.extends}+${p.name}` : p.name));
  return {
    title: options.title ?? names.join(', '),
    subject: list,
    plugins: [...list, ...(options.extraPlugins ?? []).filter((p) => !list.includes(p))],
    configs,
    hosts,
    exclude,
    backend: options.backend ?? 'cpu',
    atol: options.atol ?? 1e-6,
  };
}
