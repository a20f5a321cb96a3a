import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A line of a text file with its 1-based number. */
export interface NumberedLine {
  readonly line: string;
  readonly lineNumber: number;
}

/**
 * Streams the lines of a UTF-8 file (LF or CRLF; a leading byte-order mark is dropped) without loading the whole
 * file, for corpora larger than memory.
 */
export async function* readLines(path: string): AsyncGenerator<NumberedLine> {
  const input = createReadStream(path, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  try {
    for await (const raw of rl) {
      lineNumber++;
      yield { line: lineNumber === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw, lineNumber };
    }
  } finally {
    rl.close();
    // closing the interface does not close the file: a consumer that stops early (a bad line) would leak the fd
    input.destroy();
  }
}

/** Streams a UTF-8 file in chunks (a leading byte-order mark is dropped). */
export async function* readChunks(path: string): AsyncGenerator<string> {
  let first = true;
  for await (const chunk of createReadStream(path, { encoding: 'utf8' })) {
    const text = chunk as string;
    yield first && text.startsWith('\uFEFF') ? text.slice(1) : text;
    first = false;
  }
}
