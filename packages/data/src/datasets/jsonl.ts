import { FileFormatError } from '@adapterkit/core';
import { availableColumns, columnSpec, toExample, type ColumnOptions } from './columns';
import type { TextExample } from './example';
import { InMemoryDataset } from './in-memory';
import { readLines } from './lines';

/** Options of {@link readJsonl} / {@link streamJsonl}. */
export type JsonlOptions = ColumnOptions;

/** Column of a JSON.parse error ("... at position 12 ..." → 13), if the engine reports one. */
function errorColumn(message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  return m ? Number(m[1]) + 1 : undefined;
}

/**
 * Streams the examples of a JSON Lines file (one JSON object per line; blank lines are skipped) without loading the
 * file. Errors name the file, line and column (bad JSON) or the missing field and the fields the record has.
 */
export async function* streamJsonl(path: string, options: JsonlOptions = {}): AsyncGenerator<TextExample> {
  const spec = columnSpec(options);
  for await (const { line, lineNumber } of readLines(path)) {
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      const col = errorColumn((err as Error).message);
      throw new FileFormatError('JSONL_SYNTAX', `${path}:${lineNumber}${col === undefined ? '' : `:${col}`}: invalid JSON (${(err as Error).message})`, { cause: err });
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new FileFormatError('JSONL_SYNTAX', `${path}:${lineNumber}: expected a JSON object, got ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}`);
    }
    const obj = record as Record<string, unknown>;
    yield toExample(
      spec,
      (col) => {
        if (!Object.hasOwn(obj, col)) {
          throw new FileFormatError('UNKNOWN_COLUMN', `${path}:${lineNumber}: no field ${JSON.stringify(col)} ${availableColumns(Object.keys(obj))}`);
        }
        return obj[col];
      },
      `${path}:${lineNumber}`,
    );
  }
}

/** Reads a whole JSON Lines file into memory (see {@link streamJsonl}). */
export async function readJsonl(path: string, options: JsonlOptions = {}): Promise<InMemoryDataset<TextExample>> {
  return InMemoryDataset.fromAsync(streamJsonl(path, options));
}
