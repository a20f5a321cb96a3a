import { AdapterKitError, FileFormatError } from '@adapterkit/core';
import { checkColumns, columnSpec, toExample, type ColumnOptions } from './columns';
import type { TextExample } from './example';
import { InMemoryDataset } from './in-memory';
import { readChunks } from './lines';

/** One CSV record and the line it starts on (1-based). */
export interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
}

type State = 'start' | 'unquoted' | 'quoted' | 'afterQuote';

/**
 * An incremental RFC 4180 parser: fields separated by the delimiter, records by CRLF, LF or CR; a field may be
 * quoted with `"`, inside which delimiters and line breaks are data and `""` is one quote. Blank lines are
 * skipped. Strict: a quote inside an unquoted field, text after a closing quote, or an unterminated quoted field is
 * an error naming the source, line and column. Feed chunks with {@link push}, finish with {@link end}.
 */
export class CsvParser {
  private state: State = 'start';
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private col = 0;
  private recordLine = 1;
  private quoteLine = 0;
  private quoteCol = 0;
  private skipLf = false;

  constructor(
    private readonly source: string,
    private readonly delimiter = ',',
  ) {
    if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
      throw new AdapterKitError('BAD_OPTION', `CSV delimiter must be one character other than a quote or line break, got ${JSON.stringify(delimiter)}`);
    }
  }

  private fail(message: string): never {
    throw new FileFormatError('CSV_SYNTAX', `${this.source}:${this.line}:${this.col}: ${message}`);
  }

  private emit(out: CsvRecord[]): void {
    out.push({ fields: this.fields, line: this.recordLine });
    this.fields = [];
  }

  private newline(c: string): void {
    this.line++;
    this.col = 0;
    this.skipLf = c === '\r';
  }

  /** Closes the current field at a delimiter `c`, or at a line break `c`, which also ends the record. */
  private endField(out: CsvRecord[], c: string, isNewline: boolean): void {
    this.fields.push(this.field);
    this.field = '';
    this.state = 'start';
    if (isNewline) {
      this.emit(out);
      this.newline(c);
    }
  }

  /** Parses a chunk; returns the records it completed. */
  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const d = this.delimiter;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (this.skipLf) {
        this.skipLf = false;
        if (c === '\n') continue;
      }
      this.col++;
      const isNewline = c === '\n' || c === '\r';
      switch (this.state) {
        case 'start':
          if (this.fields.length === 0 && !isNewline) this.recordLine = this.line;
          if (c === '"') {
            this.state = 'quoted';
            this.quoteLine = this.line;
            this.quoteCol = this.col;
          } else if (c === d) {
            this.fields.push('');
          } else if (isNewline) {
            if (this.fields.length > 0) {
              this.fields.push('');
              this.emit(out);
            }
            this.newline(c);
          } else {
            this.field = c;
            this.state = 'unquoted';
          }
          break;
        case 'unquoted':
          if (c === d || isNewline) {
            this.endField(out, c, isNewline);
          } else if (c === '"') {
            this.fail('quote inside an unquoted field (RFC 4180: quote the whole field and double the quotes inside)');
          } else this.field += c;
          break;
        case 'quoted':
          if (c === '"') this.state = 'afterQuote';
          else {
            this.field += c;
            if (c === '\n') {
              this.line++;
              this.col = 0;
            }
          }
          break;
        case 'afterQuote':
          if (c === '"') {
            this.field += '"';
            this.state = 'quoted';
          } else if (c === d || isNewline) {
            this.endField(out, c, isNewline);
          } else {
            this.fail(`unexpected ${JSON.stringify(c)} after the closing quote of the field opened at line ${this.quoteLine}, column ${this.quoteCol}`);
          }
          break;
      }
    }
    return out;
  }

  /** Ends the input; returns the last record if the text does not end with a line break. */
  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.state === 'quoted') {
      throw new FileFormatError('CSV_SYNTAX', `${this.source}:${this.quoteLine}:${this.quoteCol}: quoted field is never closed (unterminated quote)`);
    }
    if (this.state === 'unquoted' || this.state === 'afterQuote') {
      this.fields.push(this.field);
      this.emit(out);
    } else if (this.fields.length > 0) {
      this.fields.push('');
      this.emit(out);
    }
    this.state = 'start';
    this.field = '';
    return out;
  }
}

/** Parses a whole CSV text into records (see {@link CsvParser}). */
export function parseCsv(text: string, options: { readonly delimiter?: string; readonly source?: string } = {}): CsvRecord[] {
  const parser = new CsvParser(options.source ?? '<csv>', options.delimiter);
  return [...parser.push(text), ...parser.end()];
}

/** Options of {@link readCsv} / {@link streamCsv}. */
export interface CsvOptions extends ColumnOptions {
  /** Default `','` (use `'\t'` for TSV). */
  readonly delimiter?: string;
  /** The first record names the columns (default true); false: columns are named `'0'`, `'1'`, ... */
  readonly header?: boolean;
}

/**
 * Streams the examples of a CSV file (RFC 4180) without loading it. Errors name the file, line and column; a
 * column name that is not in the header is an error listing the header's columns; every record must have as
 * many fields as the header.
 */
export async function* streamCsv(path: string, options: CsvOptions = {}): AsyncGenerator<TextExample> {
  const spec = columnSpec(options);
  const parser = new CsvParser(path, options.delimiter);
  let header: string[] | undefined;
  let index: Map<string, number> | undefined;
  const useHeader = options.header ?? true;
  async function* records(): AsyncGenerator<CsvRecord> {
    for await (const chunk of readChunks(path)) yield* parser.push(chunk);
    yield* parser.end();
  }
  for await (const rec of records()) {
    if (header === undefined) {
      header = useHeader ? rec.fields : rec.fields.map((_, i) => String(i));
      index = new Map();
      for (const [i, name] of header.entries()) {
        if (index.has(name)) throw new FileFormatError('CSV_HEADER', `${path}:${rec.line}: column ${JSON.stringify(name)} appears twice in the header`);
        index.set(name, i);
      }
      checkColumns(spec, header, path);
      if (useHeader) continue;
    }
    if (rec.fields.length !== header.length) {
      throw new FileFormatError('CSV_SYNTAX', `${path}:${rec.line}: record has ${rec.fields.length} fields, the header has ${header.length}`);
    }
    yield toExample(spec, (col) => rec.fields[index!.get(col)!], `${path}:${rec.line}`);
  }
}

/** Reads a whole CSV file into memory (see {@link streamCsv}). */
export async function readCsv(path: string, options: CsvOptions = {}): Promise<InMemoryDataset<TextExample>> {
  return InMemoryDataset.fromAsync(streamCsv(path, options));
}
