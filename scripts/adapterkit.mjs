#!/usr/bin/env node
/**
 * `pnpm adapterkit …`: run the built CLI (`apps/cli/dist/cli.js`), or say how to build it when it is not built yet
 * (instead of Node's raw MODULE_NOT_FOUND). Plain JavaScript: it must run before anything is built.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = fileURLToPath(new URL('../apps/cli/dist/cli.js', import.meta.url));
if (!existsSync(cli)) {
  console.error('adapterkit: error: the CLI is not built yet (apps/cli/dist/cli.js is missing): run pnpm build first (or pnpm start, which builds it and runs the main job)');
  process.exit(1);
}
await import(pathToFileURL(cli).href);
