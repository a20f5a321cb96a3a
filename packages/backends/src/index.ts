/**
 * @adapterkit/backends — picks and initialises a TensorFlow.js backend (tfjs-node, native, WebGPU, WebGL, wasm with
 * threads, cpu), reports what is active, and registers the kernels training needs on it.
 */
export { initBackend, describeBackend, isBackendName, BACKEND_NAMES, BACKEND_ORDER, BACKEND_PACKAGES, type BackendName, type BackendInfo, type InitBackendOptions, type BackendModules } from './init';
export { BackendError } from './errors';
export { registerTrainingKernels, TRAINING_KERNELS } from './kernels';
export { detectEnvironment, logicalCores, type Environment } from './environment';
export type { NativeModule } from './native';
