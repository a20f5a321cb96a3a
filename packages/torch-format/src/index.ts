/**
 * `@adapterkit/torch-format`: PyTorch `.bin` checkpoints (state dicts) without PyTorch and without executing
 * anything from the file. No dependencies, no Node built-ins: works on bytes in any JS runtime.
 *
 * @packageDocumentation
 */
export { TorchFormatError, type TorchFormatErrorCode } from './errors';
export { parseTorchCheckpoint, type TorchCheckpoint, type TorchDtype, type TorchReadOptions, type TorchTensor } from './reader';
export { serializeTorchCheckpoint, type TorchWriteOptions, type WritableTorchDtype, type WritableTorchTensor } from './writer';
export { ALLOWED_GLOBALS } from './pickle';
export { readZipFiles, writeZipFiles, isZip } from './archive';
