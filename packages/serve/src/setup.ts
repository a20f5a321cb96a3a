import { Stack, type SetupNode } from '@adapterkit/core';
import { ServeError } from './errors';

const NAME = /^[A-Za-z0-9_][\w.-]*$/;

/**
 * Parse the `adapter` field of a request: `null` (the bare base model), an adapter name, or a Stack composition
 * `Stack(a, b)` / `Stack[a, b]` (nested Stacks allowed). Other blocks (Fuse, Split, ...) route or mix rows
 * themselves and are not served: they are refused with a 400 naming the field.
 */
export function parseAdapterField(value: unknown, field = 'adapter'): SetupNode | null {
  if (value === null) return null;
  if (typeof value !== 'string') throw new ServeError(400, 'BAD_FIELD', `'${field}' must be an adapter name, a composition string like 'Stack(a, b)', or null`, field);
  const text = value.trim();
  let i = 0;
  const fail = (msg: string): never => {
    throw new ServeError(400, 'BAD_SETUP', `'${field}' ${JSON.stringify(value)}: ${msg} at position ${i + 1}`, field);
  };
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const node = (depth: number): SetupNode => {
    if (depth > 8) fail('nested too deeply');
    ws();
    const m = /^[^\s,[\]()]+/.exec(text.slice(i));
    if (!m) return fail(i < text.length ? `unexpected '${text[i]}'` : 'unexpected end');
    const word = m[0];
    i += word.length;
    ws();
    const open = text[i];
    if (open !== '(' && open !== '[') {
      if (!NAME.test(word)) fail(`'${word}' is not an adapter name`);
      return word;
    }
    if (word !== 'Stack') fail(`only Stack compositions are served, not ${word}`);
    const close = open === '(' ? ')' : ']';
    i++;
    const children: SetupNode[] = [];
    for (;;) {
      children.push(node(depth + 1));
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        break;
      }
      fail(`expected ',' or '${close}'`);
    }
    return Stack(...children);
  };
  if (text.length === 0) fail('empty');
  const out = node(0);
  ws();
  if (i < text.length) fail('trailing text');
  return out;
}
