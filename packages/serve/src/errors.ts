import { AdapterKitError } from '@adapterkit/core';

/**
 * An error answered to an HTTP client: its status, a stable code, and the request field it is about (when one is).
 * The JSON body is `{ "error": { "code", "message", "field"? } }`.
 */
export class ServeError extends AdapterKitError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }

  /** The JSON body of the answer. */
  toJSON(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field !== undefined ? { field: this.field } : {}) } };
  }
}
