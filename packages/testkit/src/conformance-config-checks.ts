import { isDeepStrictEqual } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  AdapterConfigError,
  CapabilityError,
  defineAdapterMethod,
  formatAdapterSpec,
  isMethodExtension,
  MethodRegistry,
  parseAdapterSpec,
  resolveAdapterConfig,
  snakeKey,
  UNION_METHOD,
  type AdapterConfigInput,
  type AnyAdapterMethod,
  type FieldSpec,
  type Handler,
  type HandlerTable,
  type HookPoint,
  type HostInfo,
  type MethodInstance,
  type PyValue,
  type ResolvedMember,
} from '@adapterkit/core';
import { ADAPTER, type CaseContext } from './conformance-checks';
import { disposeOutputs, ensure, Harness, withHarness } from './conformance-harness';
import { createConformanceHost, withoutHookPoints } from './conformance-hosts';
import type { NormalizedConfig, NormalizedSuite, AdapterPlugin } from './conformance-options';

/** What a per-config check (independent of the host) runs on. */
export interface ConfigContext {
  readonly suite: NormalizedSuite;
  readonly config: NormalizedConfig;
}

/**
 * The canonical config string of resolved members: `<method name>[<snake_key>=<value>,...]` per member with every
 * field that differs from the method's default, joined by `|` (floats of `float` fields keep `.0`).
 */
export function formatResolvedConfig(members: readonly ResolvedMember[]): string {
  return formatAdapterSpec(
    members.map((m) => {
      const kwargs: Record<string, PyValue> = {};
      const floatKeys = new Set<string>();
      const defaults = m.method.defaults as Record<string, unknown>;
      for (const [field, spec] of Object.entries(m.method.fields as Record<string, FieldSpec>)) {
        const value = m.config[field];
        if (isDeepStrictEqual(value, defaults[field])) continue;
        const key = snakeKey(field, spec);
        kwargs[key] = value as PyValue;
        if (spec.type === 'float' && typeof value === 'number') floatKeys.add(key);
      }
      return { name: m.method.name, kwargs, floatKeys };
    }),
  );
}

function describeMembers(members: readonly ResolvedMember[]): string {
  return JSON.stringify(members.map((m) => m.config));
}

/** The tiny BERT's HostInfo, for resolving configs (validators may look at the host). */
function withInfo<T>(fn: (info: HostInfo) => T): T {
  const host = createConformanceHost('bert');
  try {
    return fn(host.info);
  } finally {
    host.dispose();
  }
}

/**
 * Config strings round-trip: for a string config `s`, `formatAdapterSpec(parseAdapterSpec(s))` is a fixed point and
 * resolves to the same members as `s`; for every config, the canonical string of its resolved members
 * ({@link formatResolvedConfig}) resolves to the same members again.
 */
export function checkConfigString(ctx: ConfigContext): void {
  const registry = new MethodRegistry(ctx.suite.plugins);
  withInfo((info) => {
    const resolve = (input: AdapterConfigInput): Array<[string, unknown]> =>
      resolveAdapterConfig(input, registry, info).map((m) => [m.method.name, m.config]);
    const original = resolveAdapterConfig(ctx.config.input, registry, info);
    const expected = original.map((m) => [m.method.name, m.config]);
    if (typeof ctx.config.input === 'string') {
      const once = formatAdapterSpec(parseAdapterSpec(ctx.config.input));
      const twice = formatAdapterSpec(parseAdapterSpec(once));
      ensure(once === twice, () => `config ${ctx.config.label}: formatAdapterSpec(parseAdapterSpec(·)) is not stable: '${once}' → '${twice}'`);
      ensure(isDeepStrictEqual(resolve(once), expected), () => `config ${ctx.config.label}: '${once}' resolves to ${JSON.stringify(resolve(once))}, the original to ${describeMembers(original)}`);
    }
    const canonical = formatResolvedConfig(original);
    ensure(formatAdapterSpec(parseAdapterSpec(canonical)) === canonical, () => `config ${ctx.config.label}: canonical string '${canonical}' is not stable`);
    const again = resolve(canonical);
    ensure(isDeepStrictEqual(again, expected), () => `config ${ctx.config.label}: canonical string '${canonical}' resolves to ${JSON.stringify(again)}, the original to ${describeMembers(original)}`);
  });
}

/** A union of a config with itself: `s|s`, or `{ method: 'union', configs: [c, c] }`. */
export function doubledConfig(input: AdapterConfigInput): AdapterConfigInput {
  if (typeof input === 'string') return `${input}|${input}`;
  const parts = input.method === UNION_METHOD ? (input as { configs: ReadonlyArray<AdapterConfigInput> }).configs : [input];
  return { method: UNION_METHOD, configs: [...parts, ...parts] } as AdapterConfigInput;
}

/** Whether the suite installs the union validator (`@adapterkit/union`). */
export function hasUnionMethod(suite: NormalizedSuite): boolean {
  return suite.plugins.some((p) => !isMethodExtension(p) && p.name === UNION_METHOD);
}

/**
 * A union of the config with itself is rejected with an AdapterConfigError: a conflict found by the union
 * validator when `@adapterkit/union` is installed (`INVALID_UNION`-like codes), else `METHOD_NOT_INSTALLED`. The
 * model is left without the adapter and without new tensors.
 */
export async function checkUnion(ctx: ConfigContext): Promise<void> {
  const doubled = doubledConfig(ctx.config.input);
  const union = hasUnionMethod(ctx.suite);
  await withHarness(ctx.suite.hosts[0] ?? 'bert', ctx.suite.plugins, (h) => {
    const before = tf.memory().numTensors;
    let error: unknown;
    try {
      h.model.addAdapter(ADAPTER, doubled);
    } catch (err) {
      error = err;
    }
    const label = typeof doubled === 'string' ? `'${doubled}'` : JSON.stringify(doubled);
    ensure(error !== undefined, () => `config ${ctx.config.label}: the union ${label} was accepted`);
    ensure(error instanceof AdapterConfigError, () => `config ${ctx.config.label}: the union ${label} failed with ${String(error)}, not an AdapterConfigError`);
    const notInstalled = error.code === 'METHOD_NOT_INSTALLED';
    ensure(
      union ? !notInstalled : notInstalled,
      () => `config ${ctx.config.label}: the union ${label} was rejected with ${error.code} (${error.message}); expected ${union ? 'a conflict from the union validator' : 'METHOD_NOT_INSTALLED'}`,
    );
    ensure(!h.model.hasAdapter(ADAPTER), () => `config ${ctx.config.label}: a rejected union left adapter '${ADAPTER}' in the model`);
    ensure(tf.memory().numTensors === before, () => `config ${ctx.config.label}: a rejected union left ${tf.memory().numTensors - before} tensor(s) allocated`);
  });
}

/** Hook points the members of a config need: their methods' `hooks` plus those of the methods' installed extensions. */
function neededPoints(registry: MethodRegistry, members: readonly ResolvedMember[]): HookPoint[] {
  const out = new Set<HookPoint>();
  for (const m of members) {
    for (const p of m.method.hooks) out.add(p);
    for (const ext of registry.extensionsFor(m.method.name).values()) for (const p of ext.hooks ?? []) out.add(p);
  }
  return [...out];
}

/**
 * For each hook point the config's methods declare, a host view lacking just that point refuses the adapter with a
 * CapabilityError that names the point, and allocates nothing.
 */
export function checkCapability(ctx: CaseContext): void {
  const host = createConformanceHost(ctx.host);
  try {
    const registry = new MethodRegistry(ctx.suite.plugins);
    const points = neededPoints(registry, resolveAdapterConfig(ctx.config.input, registry, host.info));
    ensure(points.length > 0, () => `config ${ctx.config.label}: its methods declare no hook points`);
    for (const point of points) {
      const h = new Harness(ctx.host, ctx.suite.plugins, withoutHookPoints(host, [point]));
      try {
        const before = tf.memory().numTensors;
        let error: unknown;
        try {
          h.model.addAdapter(ADAPTER, ctx.config.input);
        } catch (err) {
          error = err;
        }
        const at = `config ${ctx.config.label} on ${ctx.host} without '${point}'`;
        ensure(error instanceof CapabilityError, () => `${at}: expected a CapabilityError, got ${error === undefined ? 'success' : String(error)}`);
        ensure(error.message.includes(point), () => `${at}: the CapabilityError does not name the point: ${error.message}`);
        ensure(!h.model.hasAdapter(ADAPTER) && tf.memory().numTensors === before, () => `${at}: the refused adapter left state or tensors behind`);
      } finally {
        h.dispose(); // the view's dispose leaves the real host alone
      }
    }
  } finally {
    host.dispose();
  }
}

type Recorder = (method: string, point: HookPoint) => void;

/** An instance whose handlers report each call to `record` before running the real handler. */
function recordingInstance(instance: MethodInstance, method: string, record: Recorder): MethodInstance {
  const handlers: Record<string, (layer: number) => Handler<HookPoint> | undefined> = {};
  for (const [point, factory] of Object.entries(instance.handlers as Record<string, ((layer: number) => Handler<HookPoint> | undefined) | undefined>)) {
    if (!factory) continue;
    handlers[point] = (layer) => {
      const handler = factory(layer);
      if (!handler) return undefined;
      return (payload, next, c) => {
        record(method, point as HookPoint);
        return handler(payload, next, c);
      };
    };
  }
  return new Proxy(instance, {
    get(target, prop) {
      if (prop === 'handlers') return handlers as HandlerTable;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The plugins with every method wrapped so that its handlers' calls are recorded (extensions unchanged). */
export function recordingPlugins(plugins: readonly AdapterPlugin[], record: Recorder): AdapterPlugin[] {
  return plugins.map((p) => {
    if (isMethodExtension(p)) return p;
    const m = p as AnyAdapterMethod;
    return defineAdapterMethod({ ...m, create: (c) => recordingInstance(m.create(c), m.name, record) }) as AnyAdapterMethod;
  });
}

/**
 * Every config acts (some handler of it runs in a forward) on every host, and every hook point a plugin under test
 * declares (a method's `hooks`, an extension's `hooks`) is called in a forward of at least one config.
 */
export async function checkHooks(suite: NormalizedSuite): Promise<void> {
  const called = new Map<string, Set<HookPoint>>();
  let calls = 0;
  const plugins = recordingPlugins(suite.plugins, (method, point) => {
    calls++;
    const set = called.get(method) ?? new Set<HookPoint>();
    set.add(point);
    called.set(method, set);
  });
  const silent: string[] = [];
  const configs = suite.configs.filter((c) => c.exclude.hooks === undefined);
  for (const config of configs) {
    for (const host of suite.hosts) {
      const before = calls;
      await withHarness(host, plugins, (h) => {
        h.model.addAdapter(ADAPTER, config.input, { setActive: true });
        disposeOutputs(h.forward());
      });
      if (calls === before) silent.push(`${config.label} on ${host}`);
    }
  }
  ensure(silent.length === 0, () => `no handler ran in a forward for: ${silent.join('; ')}`);
  const missing: string[] = [];
  for (const p of suite.subject) {
    const method = isMethodExtension(p) ? p.extends : p.name;
    const declared: readonly HookPoint[] = p.hooks ?? [];
    for (const point of declared) if (!called.get(method)?.has(point)) missing.push(`${method}: ${point}`);
  }
  ensure(
    missing.length === 0,
    () => `declared hook point(s) never called in a forward of any config (${configs.map((c) => c.label).join('; ')}): ${missing.join(', ')}`,
  );
}
