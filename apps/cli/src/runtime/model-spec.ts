import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { suggestNearest } from '@adapterkit/core';

/** A Hub id: `org/name`. */
const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
/** Explicit Hub prefix, for an id whose org is also a local folder name: `hf:models/bert`. */
export const HUB_PREFIX = 'hf:';

/** What a `--model` argument that is not an existing path names. */
export type ModelSpecKind = { readonly kind: 'hub'; readonly id: string } | { readonly kind: 'missing-path'; readonly message: string };

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Decide whether a `--model` argument that does not exist on disk is a Hub id or a mistyped local path, by what it
 * looks like and what exists: `./x`, `../x`, `/x`, `~/x`, `C:\x`, `a/b/c` and `x/` are paths; `org/name` is a
 * path when `org` is a folder here (`models/bert-tiny` next to `models/`), else a Hub id; `hf:org/name` is always
 * a Hub id. A missing path gets a message naming the nearest folder that exists.
 */
export function classifyModelSpec(spec: string, cwd: string, option = '--model'): ModelSpecKind {
  if (spec.startsWith(HUB_PREFIX)) {
    const id = spec.slice(HUB_PREFIX.length);
    if (HUB_ID.test(id)) return { kind: 'hub', id };
    return { kind: 'missing-path', message: `${option} ${spec}: '${id}' is not a Hub id (expected org/name)` };
  }
  const parts = spec.split(/[\\/]/);
  const pathLike =
    isAbsolute(spec) || /^(\.{1,2}|~)([\\/]|$)/.test(spec) || /^[A-Za-z]:[\\/]/.test(spec) || spec.includes('\\') || spec.endsWith('/') || parts.length > 2;
  const parentHere = parts.length === 2 && isDir(resolve(cwd, parts[0]!));
  if (!pathLike && !parentHere && HUB_ID.test(spec)) return { kind: 'hub', id: spec };
  if (!pathLike && !parentHere) {
    return { kind: 'missing-path', message: `${option} ${spec}: no such folder (expected a model folder, 'embedded', or a Hub id org/name)` };
  }
  return { kind: 'missing-path', message: `${option} ${spec}: no such folder${nearest(spec, cwd)}${parentHere ? ` (read as a local path because ${parts[0]}/ exists here; for the Hub id write ${option} ${HUB_PREFIX}${spec})` : ''}` };
}

/** `; did you mean 'packages/bert-mini'?` for the deepest existing folder of `spec`, or ``. */
function nearest(spec: string, cwd: string): string {
  const parts = spec.replace(/[\\/]+$/, '').split(/[\\/]/);
  for (let keep = parts.length - 1; keep >= 1; keep--) {
    const parent = resolve(cwd, parts.slice(0, keep).join('/'));
    if (!isDir(parent)) continue;
    const entries = readdirSync(parent).filter((e) => isDir(join(parent, e)));
    const near = suggestNearest(parts[keep]!, entries);
    const base = parts.slice(0, keep).join('/');
    if (near) return `; did you mean '${base}/${near}'?`;
    return entries.length ? ` (folders in ${base}/: ${entries.slice(0, 8).join(', ')}${entries.length > 8 ? ', …' : ''})` : '';
  }
  return '';
}
