/**
 * Bounds for JSON a user's file supplies: nesting depth checked before `JSON.parse`, and previews of values for
 * error messages that never recurse into (or stringify) an attacker-sized structure.
 *
 * @packageDocumentation
 */

/** Deepest nesting of arrays and objects accepted in the JSON files we read (headers and configs). */
export const MAX_JSON_DEPTH = 64;

/**
 * Scans JSON text (without parsing it) for the first place where arrays/objects nest deeper than `maxDepth`.
 * Iterative, linear in the text; strings (with escapes) are skipped so brackets inside them do not count.
 *
 * @param text - JSON text (need not be valid).
 * @param maxDepth - Deepest nesting allowed.
 * @returns The index of the bracket that exceeds `maxDepth`, or `-1` when the nesting stays within it.
 */
export function findJsonDepthExcess(text: string, maxDepth: number = MAX_JSON_DEPTH): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) depth--;
  }
  return -1;
}

/**
 * A short, bounded description of an arbitrary JSON value for an error message: primitives as JSON (strings cut
 * to `maxChars`), arrays/objects shown one level deep with nested containers elided as `[…]`/`{…}`.
 * Never recurses, so it is safe on any nesting depth.
 *
 * @param value - The value (from `JSON.parse`).
 * @param maxChars - Longest preview returned.
 * @returns The preview.
 */
export function previewJsonValue(value: unknown, maxChars = 80): string {
  const prim = (v: unknown): string => {
    if (Array.isArray(v)) return v.length === 0 ? '[]' : '[…]';
    if (typeof v === 'object' && v !== null) return '{…}';
    if (typeof v === 'string') return JSON.stringify(v.length > maxChars ? `${v.slice(0, maxChars)}…` : v);
    if (v === undefined) return 'undefined';
    return String(v);
  };
  let out: string;
  if (Array.isArray(value)) {
    const parts: string[] = [];
    let len = 2;
    for (const item of value) {
      const p = prim(item);
      len += p.length + 2;
      if (len > maxChars) {
        parts.push('…');
        break;
      }
      parts.push(p);
    }
    out = `[${parts.join(', ')}]`;
  } else if (typeof value === 'object' && value !== null) {
    const parts: string[] = [];
    let len = 2;
    for (const k of Object.keys(value)) {
      const p = `${JSON.stringify(k.length > 40 ? `${k.slice(0, 40)}…` : k)}: ${prim((value as Record<string, unknown>)[k])}`;
      len += p.length + 2;
      if (len > maxChars) {
        parts.push('…');
        break;
      }
      parts.push(p);
    }
    out = `{${parts.join(', ')}}`;
  } else {
    out = prim(value);
  }
  return out.length > maxChars + 8 ? `${out.slice(0, maxChars)}…` : out;
}
