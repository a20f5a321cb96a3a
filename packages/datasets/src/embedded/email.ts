import { htmlToText } from './html';
import { normalizeWhitespace, truncateText } from './text';

interface Part {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

const MAX_DEPTH = 5;

/** Splits a message (or MIME part) into unfolded headers (lower-case names, first occurrence wins) and body. */
function parsePart(raw: string): Part {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) continue; // the mbox "From addr date" line and junk
    const name = line.slice(0, colon).toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function contentType(part: Part): { type: string; params: ReadonlyMap<string, string> } {
  const [type = 'text/plain', ...rest] = (part.headers.get('content-type') ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1'));
  }
  return { type: type.trim().toLowerCase() || 'text/plain', params };
}

function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset || 'windows-1252').decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** Decodes runs of `=XX` (quoted-printable) after removing soft line breaks; other characters stay. */
function decodeQuotedPrintable(text: string, charset: string | undefined): string {
  return text
    .replace(/=\r?\n/g, '')
    .replace(/(?:=[0-9A-Fa-f]{2})+/g, (run) => decodeBytes(Uint8Array.from(run.slice(1).split('='), (h) => parseInt(h, 16)), charset));
}

function decodeBody(part: Part, charset: string | undefined): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').trim().toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(part.body, charset);
  if (encoding === 'base64') return decodeBytes(Buffer.from(part.body.replace(/\s+/g, ''), 'base64'), charset);
  return part.body;
}

/** Decodes RFC 2047 encoded words (`=?iso-8859-1?Q?caf=E9?=`, `=?utf-8?B?...?=`) in a header value. */
function decodeHeader(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[bq]\?[^?]*\?=)\s+(?==\?)/gi, '$1')
    .replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=/gi, (_m, charset: string, enc: string, data: string) =>
      enc.toLowerCase() === 'b'
        ? decodeBytes(Buffer.from(data, 'base64'), charset)
        : decodeQuotedPrintable(data.replace(/_/g, ' '), charset),
    );
}

/** Collects the text/plain and text/html bodies of a part tree (attachments and other types are skipped). */
function collect(part: Part, depth: number, out: { plain: string[]; html: string[] }): void {
  const { type, params } = contentType(part);
  if (type.startsWith('multipart/') && depth < MAX_DEPTH) {
    const boundary = params.get('boundary');
    if (boundary === undefined) return;
    const pieces = part.body.split(`--${boundary}`).slice(1);
    for (const piece of pieces) {
      if (piece.startsWith('--')) break;
      collect(parsePart(piece.replace(/^[ \t]*\r?\n/, '')), depth + 1, out);
    }
    return;
  }
  if (type === 'message/rfc822' && depth < MAX_DEPTH) {
    collect(parsePart(part.body), depth + 1, out);
    return;
  }
  const disposition = (part.headers.get('content-disposition') ?? '').toLowerCase();
  if (disposition.startsWith('attachment')) return;
  if (type === 'text/plain' || type === 'text/html') {
    const text = decodeBody(part, params.get('charset'));
    const looksHtml = type === 'text/html' || /<(html|body|p|br|div|table|font)\b/i.test(text);
    (looksHtml ? out.html : out.plain).push(looksHtml ? htmlToText(text) : text);
  }
}

/**
 * The text of a raw e-mail for classification: the decoded subject, a blank line, then the body — text/plain
 * parts (or, when there are none, text/html converted to text) with quoted-printable/base64 and charsets decoded,
 * attachments dropped — with whitespace normalised and cut to `maxChars` at a word boundary.
 */
export function emailToText(raw: string, maxChars: number): string {
  const message = parsePart(raw);
  const out = { plain: [] as string[], html: [] as string[] };
  collect(message, 0, out);
  const body = (out.plain.length > 0 ? out.plain : out.html).join('\n\n');
  const subject = decodeHeader(message.headers.get('subject') ?? '').replace(/\s+/g, ' ').trim();
  return truncateText(normalizeWhitespace(`${subject}\n\n${body}`), maxChars);
}
