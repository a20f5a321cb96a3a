import { initBackend } from '@adapterkit/backends';
import type { AnyAdapterMethod } from '@adapterkit/core';
import { checkAddDelete, checkIdentity, checkLeaks, checkSaveLoad, checkTraining, type CaseContext } from './conformance-checks';
import { checkCapability, checkConfigString, checkHooks, checkUnion, hasUnionMethod, type ConfigContext } from './conformance-config-checks';
import { CONFORMANCE_CHECKS, normalizeSuite, type ConformanceCheck, type ConformanceExclusions, type ConformanceOptions, type AdapterPlugin } from './conformance-options';

type Vitest = typeof import('vitest');

// vitest is an optional peer dependency and can only be imported inside a vitest run (it throws elsewhere), so it is
// loaded only there: importing `@adapterkit/testkit` from a plain script (the parity runner) never touches it.
const vitest: Vitest | undefined = process.env['VITEST'] ? await import('vitest') : undefined;

const CASE_CHECKS: ReadonlyArray<[ConformanceCheck, (ctx: CaseContext) => void | Promise<void>]> = [
  ['addDelete', checkAddDelete],
  ['identity', checkIdentity],
  ['training', checkTraining],
  ['saveLoad', checkSaveLoad],
  ['capability', checkCapability],
  ['leaks', checkLeaks],
];

function register(v: Vitest, check: ConformanceCheck, exclude: ConformanceExclusions, run: () => void | Promise<void>, detail = ''): void {
  const name = `${check}: ${CONFORMANCE_CHECKS[check]}${detail}`;
  const reason = exclude[check];
  if (reason !== undefined) v.it.skip(`${name} — excluded: ${reason}`, () => undefined);
  else v.it(name, run);
}

/**
 * The conformance suite every adapter method (first- or third-party) runs, as vitest tests. For every config ×
 * host (tiny BERT, RoBERTa and GPT-2 from `@adapterkit/models`' `initHost`: hidden 32, 2 layers, 4 heads, vocab 64)
 * it checks:
 * - `addDelete`: add/delete leave `tf.memory().numTensors` unchanged;
 * - `identity`: the zero state (`zeroInit`, or as added, or with {@link DEFAULT_ZERO_PATTERN} parameters zeroed)
 *   reproduces the base model's outputs;
 * - `training`: one SGD step after `trainAdapter` changes only this adapter's variables (base variables and a second,
 *   active but frozen adapter stay bit-identical), and at least one of them;
 * - `saveLoad`: save → load (same model under another name, and a fresh model) gives identical weights and outputs;
 * - `capability`: a host lacking any one of the methods' hook points refuses the adapter with a CapabilityError;
 * - `leaks`: `numTensors` is flat over 20 forwards;
 *
 * per config:
 * - `configString`: `formatAdapterSpec(parseAdapterSpec(s))` is stable and resolves to the same config, and so does
 *   the canonical string of the resolved config;
 * - `union`: a union of the config with itself is rejected (a conflict when `@adapterkit/union` is installed);
 *
 * and once: `hooks`: every declared hook point is called in a forward of some config, and every config acts.
 *
 * Exclusions carry a reason and show as skipped tests. Call it at the top level of a test file:
 *
 * ```ts
 * describeAdapterMethod(plugins, { configs: ['pfeiffer', 'houlsby[reduction_factor=8]'], extraPlugins: unionPlugins });
 * ```
 *
 * @param subject - The method or extension under test, or a package's `plugins` array.
 * @param options - Configs, hosts, exclusions, extra plugins; see {@link ConformanceOptions}.
 * @throws Error outside a vitest run, or for invalid options (unknown check or host, exclusion without reason).
 */
export function describeAdapterMethod<P extends AdapterPlugin, E extends AdapterPlugin = never>(
  subject: P | readonly P[],
  options: ConformanceOptions<Extract<P | E, AnyAdapterMethod>> & { readonly extraPlugins?: readonly E[] },
): void {
  if (!vitest) throw new Error('describeAdapterMethod registers vitest tests: call it from a test file run by vitest');
  const v = vitest;
  const suite = normalizeSuite(subject, options as ConformanceOptions<AnyAdapterMethod>);
  v.describe(`conformance: ${suite.title}`, () => {
    v.beforeAll(async () => {
      await initBackend(suite.backend);
    });
    for (const config of suite.configs) {
      v.describe(`config ${config.label}`, () => {
        const cfg: ConfigContext = { suite, config };
        register(v, 'configString', config.exclude, () => checkConfigString(cfg));
        register(v, 'union', config.exclude, () => checkUnion(cfg), hasUnionMethod(suite) ? '' : ' (@adapterkit/union not installed: METHOD_NOT_INSTALLED)');
        for (const host of suite.hosts) {
          v.describe(host, () => {
            for (const [check, run] of CASE_CHECKS) register(v, check, config.exclude, () => run({ suite, config, host }));
          });
        }
      });
    }
    register(v, 'hooks', suite.exclude, () => checkHooks(suite));
  });
}
