import { AdapterKitError, FileFormatError, hostFs, writeFileAtomic } from '@adapterkit/core';

/** The JSON form of a {@link LabelMap}: transformers' `id2label` / `label2id` config fields. */
export interface LabelMapJson {
  readonly id2label: Readonly<Record<string, string>>;
  readonly label2id: Readonly<Record<string, number>>;
}

/**
 * A mapping between class names and ids 0..n-1. `names` (id → name) is what a classification head takes as
 * `id2label`.
 */
export class LabelMap {
  /** Class names in id order. */
  readonly names: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  constructor(names: readonly string[]) {
    const ids = new Map<string, number>();
    names.forEach((n, i) => {
      if (typeof n !== 'string') throw new AdapterKitError('BAD_LABEL', `label names must be strings, got ${typeof n} at id ${i}`);
      if (ids.has(n)) throw new AdapterKitError('BAD_LABEL', `label ${JSON.stringify(n)} appears twice (ids ${ids.get(n)} and ${i})`);
      ids.set(n, i);
    });
    this.names = [...names];
    this.ids = ids;
  }

  /**
   * The labels found in `labels`, sorted: numerically when all are integers (so `0, 1, 2` keep their ids when they
   * are contiguous from 0), else by code point.
   */
  static fromLabels(labels: Iterable<string | number>): LabelMap {
    const unique = [...new Set(Array.from(labels, (l) => String(l)))];
    const numeric = unique.every((l) => /^-?\d+$/.test(l));
    unique.sort(numeric ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return new LabelMap(unique);
  }

  /** Accepts `{ id2label }` (transformers config) or a list of names. */
  static fromJSON(json: LabelMapJson | { readonly id2label: Readonly<Record<string, string>> } | readonly string[]): LabelMap {
    if (Array.isArray(json)) return new LabelMap(json as readonly string[]);
    const entries = Object.entries((json as { id2label: Record<string, string> }).id2label ?? {});
    const names: string[] = [];
    for (const [id, name] of entries) {
      const i = Number(id);
      if (!Number.isInteger(i) || i < 0 || i >= entries.length) throw new AdapterKitError('BAD_LABEL', `id2label ids must be 0..${entries.length - 1}, got ${JSON.stringify(id)}`);
      names[i] = name;
    }
    return new LabelMap(names);
  }

  /** Reads a label map written by {@link save} (or any JSON with `id2label`, e.g. a transformers config.json). */
  static async load(path: string): Promise<LabelMap> {
    const text = new TextDecoder().decode(await hostFs.readFile(path));
    try {
      return LabelMap.fromJSON(JSON.parse(text) as LabelMapJson);
    } catch (err) {
      throw new FileFormatError('BAD_LABEL_MAP', `${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Number of classes. */
  get size(): number {
    return this.names.length;
  }

  /** Id of a label (a number label is looked up as its string). Throws for an unknown label, listing the known ones. */
  id(label: string | number): number {
    const id = this.ids.get(String(label));
    if (id === undefined) {
      throw new AdapterKitError('UNKNOWN_LABEL', `unknown label ${JSON.stringify(label)} (known: ${this.names.map((n) => JSON.stringify(n)).join(', ')})`);
    }
    return id;
  }

  /** Name of class `id`. */
  label(id: number): string {
    const name = this.names[id];
    if (name === undefined) throw new AdapterKitError('UNKNOWN_LABEL', `label id ${id} is out of range 0..${this.names.length - 1}`);
    return name;
  }

  /** `{ id2label: {"0": "ham", ...}, label2id: {"ham": 0, ...} }`. */
  toJSON(): LabelMapJson {
    return {
      id2label: Object.fromEntries(this.names.map((n, i) => [String(i), n])),
      label2id: Object.fromEntries(this.names.map((n, i) => [n, i])),
    };
  }

  /** Writes {@link toJSON} to `path` atomically. */
  async save(path: string): Promise<void> {
    await writeFileAtomic(path, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
  }
}
