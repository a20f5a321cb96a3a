import { buildConfig } from '@adapterkit/core';
import type { ReftConfig } from './config';
import { reft } from './method';

type Overrides = Partial<Omit<ReftConfig, 'method'>> & Record<string, unknown>;

/** `adapters` 1.1 `LoReftConfig(...)`: orthogonal R. */
export function LoReftConfig(overrides: Overrides = {}): ReftConfig {
  return buildConfig(reft, 'loreft', overrides, 'LoReftConfig(...)') as unknown as ReftConfig;
}

/** `adapters` 1.1 `NoReftConfig(...)`: plain R. */
export function NoReftConfig(overrides: Overrides = {}): ReftConfig {
  return buildConfig(reft, 'noreft', overrides, 'NoReftConfig(...)') as unknown as ReftConfig;
}

/** `adapters` 1.1 `DiReftConfig(...)`: plain R, no `− R h`. */
export function DiReftConfig(overrides: Overrides = {}): ReftConfig {
  return buildConfig(reft, 'direft', overrides, 'DiReftConfig(...)') as unknown as ReftConfig;
}
