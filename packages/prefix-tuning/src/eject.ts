import * as tf from '@tensorflow/tfjs-core';
import { AdapterStateError, buildConfig, disposeEntry, type AdapterModel, type ResolvedMember } from '@adapterkit/core';
import { PREFIX_TUNING } from './config';
import { isPrefixTuningInstance } from './method';

/**
 * Replace the reparameterisation of adapter `name`'s prefix (embedding `wte` + MLP `control_trans.{0,2}`) by its
 * output: the flat `control_trans` `[P·L·2·H]` = flatten(MLP(E)), computed once without dropout (the reference's
 * `model.eject_prefix_tuning(name)`). Outputs are unchanged and the adapter has far fewer parameters; its config
 * becomes `flat: true`, so it saves and reloads as a flat prefix. Other members of a config union (e.g. MAM's
 * parallel adapter) and prefix gates keep their values. The active setup and a training setup that includes the
 * adapter are restored. A flat prefix is left as it is.
 *
 * @throws AdapterStateError when the adapter does not exist or has no prefix-tuning member.
 */
export function ejectPrefixTuning(model: AdapterModel, name: string): void {
  const old = model.requireAdapter(name);
  const index = old.members.findIndex((m) => m.method.name === PREFIX_TUNING);
  const member = old.members[index];
  if (!member || !isPrefixTuningInstance(member.instance)) {
    const kinds = old.members.map((m) => m.method.architecture ?? 'bottleneck').join(' + ');
    throw new AdapterStateError('NOT_PREFIX_TUNING', `ejectPrefixTuning: adapter '${name}' (${kinds}) has no prefix-tuning member`);
  }
  if (member.config['flat'] === true) return;

  const flatConfig = buildConfig(member.method, undefined, { ...member.config, flat: true }, `ejectPrefixTuning('${name}')`, model.info);
  const members: ResolvedMember[] = old.members.map((m, i) => ({ method: m.method, config: i === index ? flatConfig : m.config }));
  const pool = member.instance.prefixPool;
  const entry = model.createEntry(name, members, 0);
  const flat = tf.tidy(() => tf.reshape(pool.materialise(), [-1]));
  try {
    for (const p of entry.params.list()) {
      const previous = old.params.get(p.key);
      if (previous) p.variable.assign(previous.variable);
    }
    const target = entry.members[index]!.instance;
    const controlTrans = isPrefixTuningInstance(target) ? target.prefixPool.controlTrans : undefined;
    if (!controlTrans) throw new AdapterStateError('EJECT_FAILED', `ejectPrefixTuning: the flat prefix of adapter '${name}' was not created`);
    controlTrans.assign(flat);
  } catch (err) {
    disposeEntry(entry);
    throw err;
  } finally {
    flat.dispose();
  }

  model.replaceEntry(entry);
}
