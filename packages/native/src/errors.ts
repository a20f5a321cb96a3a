import { AdapterKitError } from '@adapterkit/core';

/**
 * A native kernel could not run: the addon is unavailable (`NATIVE_UNAVAILABLE`), the wasm backend is not active
 * (`NATIVE_NEEDS_WASM`), or a kernel got operands it cannot take (`NATIVE_SHAPE`, `NATIVE_RANGE`, `NATIVE_ARG`: the
 * addon's own checks of shapes and heap ranges, which run before it touches memory).
 */
export class NativeKernelError extends AdapterKitError {}

/** Map an error thrown by the addon (a TypeError/RangeError with `code` `ERR_NATIVE_*`) to a {@link NativeKernelError}. */
export function fromAddonError(kernel: string, err: unknown): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code.startsWith('ERR_NATIVE_')) {
    return new NativeKernelError(code.slice(4), `${kernel}: ${(err as Error).message}`, { cause: err });
  }
  return err;
}
