/**
 * @adapterkit/testkit — parity runner against golden outputs of the reference library, tensor comparison and
 * leak helpers, and (later) the conformance suite every adapter method runs.
 */
export * from './tensors';
export * from './golden';
export * from './parity';
export { discoverPlugins, type DiscoveredPlugins } from './discover';
