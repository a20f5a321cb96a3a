import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FileFormatError } from '@adapterkit/core';

const require = createRequire(import.meta.url);

/**
 * The root folder of an installed dependency, resolved from this package (so it works from source and from
 * dist): its entry point is resolved, then the nearest `package.json` of that name above it.
 */
export function packageDir(name: string): string {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch (err) {
    throw new FileFormatError('DATASET_MISSING', `the data package ${name} is not installed (it is a dependency of @adapterkit/datasets; reinstall)`, { cause: err });
  }
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === name) return dir;
  }
  throw new FileFormatError('DATASET_MISSING', `no package.json named ${name} above ${entry}`);
}
