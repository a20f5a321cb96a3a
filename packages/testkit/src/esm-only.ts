/**
 * What `require('@adapterkit/testkit')` loads: the package is ESM-only (it runs inside vitest, which is ESM-only, and
 * uses top-level `await`), so CommonJS consumers get one clear line instead of a resolution error.
 */
import { AdapterKitError } from '@adapterkit/core';

throw new AdapterKitError('ESM_ONLY', "@adapterkit/testkit is ESM-only (it runs inside vitest): use import from an ES module or a .mjs/.mts test file, not require()");
