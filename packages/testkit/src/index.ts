/**
 * @adapterkit/testkit — parity runner against golden outputs of the reference library, tensor comparison and
 * leak helpers, and the conformance suite every adapter method runs (`describeAdapterMethod`).
 */
export * from './tensors';
export * from './roundtrip';
export * from './golden';
export * from './parity';
export { discoverPlugins, type DiscoveredPlugins } from './discover';
export { describeAdapterMethod } from './conformance';
export * from './conformance-options';
export * from './conformance-hosts';
export { ConformanceError, patternTensor } from './conformance-harness';
export { checkAddDelete, checkIdentity, checkLeaks, checkSaveLoad, checkTraining, type CaseContext } from './conformance-checks';
export { checkCapability, checkConfigString, checkHooks, checkUnion, formatResolvedConfig, recordingPlugins, type ConfigContext } from './conformance-config-checks';
