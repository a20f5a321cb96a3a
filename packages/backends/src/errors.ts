import { AdapterKitError } from '@adapterkit/core';

/**
 * A backend could not be selected. Codes: `UNKNOWN_BACKEND` (a name AdapterKit does not know),
 * `BACKEND_UNAVAILABLE` (a requested backend cannot run here; the message says why), `NO_BACKEND` (none of the
 * candidates could run), `BAD_THREADS` (a thread count that is not a positive integer), `NODE_ONLY` (a Node-only set-up step called in the
 * browser build).
 */
export class BackendError extends AdapterKitError {}
