import { AdapterKitError } from '@adapterkit/core';

/**
 * Data-parallel training failed. Codes: `BAD_OPTIONS` (an option out of range, checked before any worker starts),
 * `NOT_NODE` (worker threads need Node), `REPLICA_MISMATCH` (a worker's replica has other trainable parameters or
 * other frozen weights than the main model: the message names the first key that differs), `WORKER_FAILED` (a
 * worker threw or exited; the message names the worker and carries its error code), `CLOSED` (the pool was closed).
 */
export class DataParallelError extends AdapterKitError {}
