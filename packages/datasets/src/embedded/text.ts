/** Collapses runs of spaces/tabs, trims every line and keeps at most one empty line between paragraphs. */
export function normalizeWhitespace(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t\f\v\u00a0]+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Cuts `text` to at most `maxChars` characters, at the last whitespace before the limit when there is one. */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const ws = cut.search(/\s\S*$/);
  return (ws > maxChars / 2 ? cut.slice(0, ws) : cut).trimEnd();
}

/**
 * Splits text into sentences after `.`, `!` or `?` (plus closing quotes/brackets) followed by whitespace and an
 * upper-case letter, digit or opening quote. A heuristic (abbreviations such as "Mr. Smith" split too) that is
 * good enough for corpora and language identification.
 */
export function splitSentences(text: string): string[] {
  return text
    .split(/(?<=[.!?]['"’”»)\]]*)\s+(?=[\p{Lu}\p{N}"'“‘«¿¡(])/u)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Packs the sentences of each paragraph (blank-line separated) into passages of at most `maxChars` characters
 * (a longer sentence is a passage of its own); passages never cross paragraphs.
 */
export function packPassages(text: string, maxChars: number): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    let cur = '';
    for (const s of splitSentences(para.replace(/\s+/g, ' '))) {
      if (cur !== '' && cur.length + 1 + s.length > maxChars) {
        out.push(cur);
        cur = s;
      } else cur = cur === '' ? s : `${cur} ${s}`;
    }
    if (cur !== '') out.push(cur);
  }
  return out;
}
