/**
 * Every adapter method and extension the CLI installs into a model, so any saved adapter loads: the list of
 * `@adapterkit/pipelines` (its `loadPretrained` default), one list for both, not a copy.
 */
export { ALL_METHODS } from '@adapterkit/pipelines';
