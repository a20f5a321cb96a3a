import { FileFormatError } from '@adapterkit/core';
import type { TextExample } from './example';

/** Which columns (CSV) or fields (JSONL) hold the text, the optional pair text, the label and an id. */
export interface ColumnOptions {
  /** Default `'text'`. */
  readonly textColumn?: string;
  /** Column of the second text of a pair (default: none). */
  readonly textPairColumn?: string;
  /** Default `'label'`; `null` for unlabelled data. */
  readonly labelColumn?: string | null;
  /** Column used as the example id (default: none). */
  readonly idColumn?: string;
}

/** The columns to read, resolved from {@link ColumnOptions}. */
export interface ColumnSpec {
  readonly text: string;
  readonly textPair: string | undefined;
  readonly label: string | undefined;
  readonly id: string | undefined;
}

export function columnSpec(o: ColumnOptions): ColumnSpec {
  return {
    text: o.textColumn ?? 'text',
    textPair: o.textPairColumn,
    label: o.labelColumn === null ? undefined : (o.labelColumn ?? 'label'),
    id: o.idColumn,
  };
}

/** `(available: a, b, c)` for error messages. */
export function availableColumns(names: Iterable<string>): string {
  return `(available: ${[...names].map((n) => JSON.stringify(n)).join(', ') || 'none'})`;
}

/** Throws naming `where` if one of the spec's columns is not among `names`. */
export function checkColumns(spec: ColumnSpec, names: readonly string[], where: string): void {
  const have = new Set(names);
  for (const [role, col] of [['textColumn', spec.text], ['textPairColumn', spec.textPair], ['labelColumn', spec.label], ['idColumn', spec.id]] as const) {
    if (col !== undefined && !have.has(col)) {
      throw new FileFormatError('UNKNOWN_COLUMN', `${where}: ${role} ${JSON.stringify(col)} is not a column ${availableColumns(names)}`);
    }
  }
}

/**
 * Builds a {@link TextExample} from one record. `get(column)` returns the raw value; `where` (file:line) prefixes
 * errors. Texts must be strings; labels may be strings, numbers or booleans (stored as strings).
 */
export function toExample(spec: ColumnSpec, get: (column: string) => unknown, where: string): TextExample {
  const str = (col: string, role: string): string => {
    const v = get(col);
    if (typeof v !== 'string') {
      throw new FileFormatError('BAD_VALUE', `${where}: ${role} ${JSON.stringify(col)} must be a string, got ${v === null ? 'null' : typeof v}`);
    }
    return v;
  };
  const out: { text: string; textPair?: string; label?: string | number; id?: string } = { text: str(spec.text, 'textColumn') };
  if (spec.textPair !== undefined) out.textPair = str(spec.textPair, 'textPairColumn');
  if (spec.label !== undefined) {
    const v = get(spec.label);
    if (typeof v === 'boolean') out.label = String(v);
    else if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) out.label = v;
    else throw new FileFormatError('BAD_VALUE', `${where}: labelColumn ${JSON.stringify(spec.label)} must be a string, number or boolean, got ${v === null ? 'null' : typeof v}`);
  }
  if (spec.id !== undefined) {
    const v = get(spec.id);
    if (typeof v !== 'string' && typeof v !== 'number') throw new FileFormatError('BAD_VALUE', `${where}: idColumn ${JSON.stringify(spec.id)} must be a string or number`);
    out.id = String(v);
  }
  return out;
}
