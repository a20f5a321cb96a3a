import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Stack, type AdapterModel, type NamedParam } from '@adapterkit/core';
import {
  bitEqual,
  changedVariables,
  disposeOutputs,
  ensure,
  Harness,
  outputDiff,
  patternTensor,
  snapshot,
  withHarness,
} from './conformance-harness';
import type { ConformanceHostKind } from './conformance-hosts';
import { DEFAULT_ZERO_PATTERN, zeroMatching, type NormalizedConfig, type NormalizedSuite } from './conformance-options';

/** What a per-config × host check runs on. */
export interface CaseContext {
  readonly suite: NormalizedSuite;
  readonly config: NormalizedConfig;
  readonly host: ConformanceHostKind;
}

/** Adapter names used by the checks. */
export const ADAPTER = 'conformance_a';
const OTHER = 'conformance_b';
const LOADED = 'conformance_loaded';

function where(ctx: CaseContext): string {
  return `config ${ctx.config.label} on ${ctx.host}`;
}

/** Add, activate, forward and delete the adapter twice: `tf.memory().numTensors` ends where it started. */
export async function checkAddDelete(ctx: CaseContext): Promise<void> {
  await withHarness(ctx.host, ctx.suite.plugins, (h) => {
    disposeOutputs(h.forward()); // let the host create anything it caches on a first forward
    const before = tf.memory().numTensors;
    for (let round = 1; round <= 2; round++) {
      h.model.addAdapter(ADAPTER, ctx.config.input, { setActive: true });
      disposeOutputs(h.forward());
      h.model.deleteAdapter(ADAPTER);
      const after = tf.memory().numTensors;
      ensure(after === before, () => `${where(ctx)}: add → forward → delete (round ${round}) left ${after - before} tensor(s) allocated`);
    }
  });
}

/**
 * The zero state reproduces the base model: with `zeroInit` applied (or, without one, as added, and failing that
 * with the {@link DEFAULT_ZERO_PATTERN} parameters zeroed) every output equals the base model's within `atol`.
 */
export async function checkIdentity(ctx: CaseContext): Promise<void> {
  await withHarness(ctx.host, ctx.suite.plugins, (h) => {
    const base = h.forward();
    try {
      h.model.addAdapter(ADAPTER, ctx.config.input, { setActive: true });
      const params = h.model.adapterParams(ADAPTER);
      const compare = (): { diff: number; output: string } => {
        const out = h.forward();
        try {
          return outputDiff(base, out);
        } finally {
          disposeOutputs(out);
        }
      };
      let how: string;
      let d: { diff: number; output: string };
      if (ctx.config.zeroInit) {
        ctx.config.zeroInit(params);
        how = 'after zeroInit';
        d = compare();
      } else {
        d = compare();
        how = 'as added';
        if (d.diff > ctx.suite.atol) {
          const zeroed = zeroMatching(params, DEFAULT_ZERO_PATTERN);
          ensure(
            zeroed.length > 0,
            () =>
              `${where(ctx)}: the adapter changes the outputs as added (max |diff| ${d.diff.toExponential(2)} in ${d.output}) and none of its ` +
              `parameters matches the default zero pattern ${DEFAULT_ZERO_PATTERN}: pass a zeroInit, or exclude 'identity' with a reason`,
          );
          how = `with ${zeroed.length} parameter(s) zeroed (${zeroed.slice(0, 3).join(', ')}${zeroed.length > 3 ? ', …' : ''})`;
          d = compare();
        }
      }
      ensure(d.diff <= ctx.suite.atol, () => `${where(ctx)}: zero state ${how} differs from the base model: max |diff| ${d.diff.toExponential(2)} in ${d.output} (atol ${ctx.suite.atol})`);
    } finally {
      disposeOutputs(base);
    }
  });
}

/** `Σ out ⊙ R` for a fixed pattern R: a loss that no LayerNorm makes constant. */
function patternLoss(h: Harness): tf.Scalar {
  const out = h.forward(true);
  const R = patternTensor(out.lastHiddenState.shape, 7);
  return tf.sum(tf.mul(out.lastHiddenState, R));
}

function keysOf(model: AdapterModel, vars: readonly tf.Variable[]): string {
  const names = new Map<tf.Variable, string>();
  for (const [k, v] of model.host.parameters) names.set(v, `base:${k}`);
  for (const a of model.adapterNames()) for (const p of model.adapterParams(a)) names.set(p.variable, `${a}:${p.key}`);
  const list = vars.map((v) => names.get(v) ?? v.name);
  return list.slice(0, 5).join(', ') + (list.length > 5 ? `, … (${list.length})` : '');
}

/**
 * One SGD step after `trainAdapter` (with a second adapter of the same config active before it, frozen):
 * `trainableVariables()` is exactly this adapter's non-frozen parameters; every base variable and every variable
 * of the other adapter stays bit-identical, frozen parameters too; at least one of its own changes.
 */
export async function checkTraining(ctx: CaseContext): Promise<void> {
  await withHarness(ctx.host, ctx.suite.plugins, (h) => {
    const { model } = h;
    model.addAdapter(OTHER, ctx.config.input);
    model.addAdapter(ADAPTER, ctx.config.input);
    model.trainAdapter(ADAPTER);
    model.setActiveAdapters(Stack(OTHER, ADAPTER));
    const own = model.adapterParams(ADAPTER);
    const trainable = own.filter((p) => !p.frozen).map((p) => p.variable);
    const got = model.trainableVariables();
    const extra = got.filter((v) => !trainable.includes(v));
    const missing = trainable.filter((v) => !got.includes(v));
    ensure(extra.length === 0 && missing.length === 0, () => `${where(ctx)}: trainableVariables() after trainAdapter: unexpected [${keysOf(model, extra)}], missing [${keysOf(model, missing)}]`);

    const fixed = [...model.host.parameters.values(), ...model.adapterParams(OTHER).map((p) => p.variable), ...own.filter((p) => p.frozen).map((p) => p.variable)];
    const fixedBefore = snapshot(fixed);
    const ownBefore = snapshot(trainable);
    const optimizer = tf.train.sgd(0.1);
    try {
      tf.tidy(() => {
        let grads: tf.NamedTensorMap;
        try {
          grads = tf.variableGrads(() => patternLoss(h), got).grads;
        } catch (err) {
          // tfjs: "Cannot find a connection between any variable and the result of the loss function"
          ensure(!/Cannot find a connection/.test(String(err)), () => `${where(ctx)}: none of the adapter's ${trainable.length} trainable variable(s) reaches the loss`);
          throw err;
        }
        optimizer.applyGradients(grads);
      });
    } finally {
      optimizer.dispose();
    }
    const moved = changedVariables(fixedBefore);
    ensure(moved.length === 0, () => `${where(ctx)}: a training step of '${ADAPTER}' changed variables it must not touch: ${keysOf(model, moved)}`);
    ensure(changedVariables(ownBefore).length > 0, () => `${where(ctx)}: a training step changed none of the adapter's ${trainable.length} trainable variable(s)`);
  });
}

/** Add `0.05 · pattern` to every parameter, so saved weights differ from any initial value. */
function perturb(params: readonly NamedParam[]): void {
  params.forEach((p, i) => {
    tf.tidy(() => p.variable.assign(tf.add(p.variable, tf.mul(patternTensor(p.variable.shape, 100 + i), 0.05))));
  });
}

function renamedKey(key: string, from: string, to: string): string {
  return key
    .split('.')
    .map((s) => (s === from ? to : s))
    .join('.');
}

/** Compare the parameters (keys after renaming, bit-identical values) and configs of two adapters. */
function sameAdapter(ctx: CaseContext, a: AdapterModel, aName: string, b: AdapterModel, bName: string): void {
  const pa = a.adapterParams(aName);
  const pb = new Map(b.adapterParams(bName).map((p) => [renamedKey(p.key, bName, aName), p]));
  ensure(pa.length === pb.size, () => `${where(ctx)}: saved ${pa.length} parameters, loaded ${pb.size}`);
  for (const p of pa) {
    const q = pb.get(p.key);
    ensure(q !== undefined, () => `${where(ctx)}: parameter '${p.key}' is missing after save → load`);
    const same = bitEqual(p.variable.dataSync() as Float32Array, q.variable.dataSync() as Float32Array);
    ensure(same, () => `${where(ctx)}: parameter '${p.key}' differs after save → load`);
  }
  const ca = a.requireAdapter(aName).members.map((m) => [m.method.name, m.config]);
  const cb = b.requireAdapter(bName).members.map((m) => [m.method.name, m.config]);
  ensure(isDeepStrictEqual(ca, cb), () => `${where(ctx)}: config after save → load ${JSON.stringify(cb)} ≠ ${JSON.stringify(ca)}`);
}

/**
 * Perturb the adapter's weights, save it to a temporary folder, load it back under another name (same model) and
 * under its own name (a fresh model of the same host): identical parameters, configs and outputs.
 */
export async function checkSaveLoad(ctx: CaseContext): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'adapterkit-conformance-'));
  try {
    await withHarness(ctx.host, ctx.suite.plugins, async (h) => {
      h.model.addAdapter(ADAPTER, ctx.config.input, { setActive: true });
      perturb(h.model.adapterParams(ADAPTER));
      const expected = h.forward();
      try {
        // our own round trip: also configs only AdapterKit reads as saved (LoRA extra_modules, DoRA, ...)
        await h.model.saveAdapter(dir, ADAPTER, { adapterKitOnly: true });
        const name = await h.model.loadAdapter(dir, { loadAs: LOADED, setActive: true });
        ensure(name === LOADED, () => `${where(ctx)}: loadAdapter({ loadAs }) returned '${name}'`);
        sameAdapter(ctx, h.model, ADAPTER, h.model, LOADED);
        const again = h.forward();
        const d = outputDiff(expected, again);
        disposeOutputs(again);
        ensure(d.diff <= ctx.suite.atol, () => `${where(ctx)}: outputs after save → load (loadAs) differ: max |diff| ${d.diff.toExponential(2)} in ${d.output}`);

        await withHarness(ctx.host, ctx.suite.plugins, async (fresh) => {
          const loaded = await fresh.model.loadAdapter(dir, { setActive: true });
          ensure(loaded === ADAPTER, () => `${where(ctx)}: a fresh model loaded the adapter as '${loaded}', not '${ADAPTER}'`);
          sameAdapter(ctx, h.model, ADAPTER, fresh.model, ADAPTER);
          const out = fresh.forward();
          const e = outputDiff(expected, out);
          disposeOutputs(out);
          ensure(e.diff <= ctx.suite.atol, () => `${where(ctx)}: outputs of a fresh model after load differ: max |diff| ${e.diff.toExponential(2)} in ${e.output}`);
        });
      } finally {
        disposeOutputs(expected);
      }
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** 20 forwards (alternating inference and training mode) after a warm-up: `tf.memory().numTensors` is unchanged. */
export async function checkLeaks(ctx: CaseContext): Promise<void> {
  await withHarness(ctx.host, ctx.suite.plugins, (h) => {
    h.model.addAdapter(ADAPTER, ctx.config.input, { setActive: true });
    disposeOutputs(h.forward(false));
    disposeOutputs(h.forward(true));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) disposeOutputs(h.forward(i % 2 === 1));
    const after = tf.memory().numTensors;
    ensure(after === before, () => `${where(ctx)}: 20 forwards left ${after - before} tensor(s) allocated (${((after - before) / 20).toFixed(2)} per forward)`);
  });
}
