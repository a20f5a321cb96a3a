import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADAPTER_CONFIG_FILE, type AdapterModel } from '@adapterkit/core';
import { getHeads, headCompanion } from '@adapterkit/training';
import { ServeError } from './errors';
import type { ServeMetrics } from './metrics';

/** File that marks a saved prediction head beside an adapter (loaded with it). */
export const HEAD_CONFIG_FILE = 'head_config.json';

/** One row of `GET /v1/adapters`. */
export interface AdapterListing {
  readonly name: string;
  readonly loaded: boolean;
  readonly hasHead: boolean;
  /** Adapter (+ head) parameters, when loaded. */
  readonly parameters?: number;
  /** Bytes of those parameters (float32), when loaded. */
  readonly bytes?: number;
  /** The load error, when the folder failed to load. */
  readonly error?: string;
}

/**
 * The servable adapters of a folder and the LRU of loaded ones. Every subfolder of `adaptersDir` holding an
 * `adapter_config.json` is servable under its folder name (loaded with `loadAs` = that name, with its head when a
 * `head_config.json` is beside it). At most `maxLoaded` are loaded at once: loading one more unloads the least
 * recently used adapter that no running batch pins (its variables, and its head's, are disposed), and so does
 * exceeding `maxLoadedBytes` of loaded parameters (float32) after a load. A folder that
 * fails to load is remembered, and its requests are answered 422 until it is reloaded explicitly.
 *
 * Not thread-safe by itself: the server calls it only under its model lock.
 */
export class AdapterPool {
  /** Loaded adapters, least recently used first (Map keeps insertion order). */
  private readonly lru = new Map<string, { parameters: number }>();
  private readonly failed = new Map<string, string>();
  private readonly pins = new Map<string, number>();

  constructor(
    private readonly model: AdapterModel,
    readonly adaptersDir: string,
    readonly maxLoaded: number,
    private readonly metrics: ServeMetrics,
    /** Bytes of loaded parameters (float32) to stay under, besides the count; the adapter just loaded always stays. */
    readonly maxLoadedBytes = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isInteger(maxLoaded) || maxLoaded < 1) throw new ServeError(500, 'BAD_OPTION', `maxLoaded must be a positive integer, got ${maxLoaded}`);
    if (!existsSync(adaptersDir) || !statSync(adaptersDir).isDirectory()) throw new ServeError(500, 'BAD_OPTION', `adaptersDir ${adaptersDir} is not a directory`);
  }

  /** Names of the servable adapter folders (rescanned on every call, so new folders appear without a restart). */
  known(): string[] {
    return readdirSync(this.adaptersDir, { withFileTypes: true })
      .filter((d) => (d.isDirectory() || d.isSymbolicLink()) && existsSync(join(this.adaptersDir, d.name, ADAPTER_CONFIG_FILE)))
      .map((d) => d.name)
      .sort();
  }

  isServable(name: string): boolean {
    return !name.startsWith('.') && !name.includes('/') && !name.includes('\\') && existsSync(join(this.adaptersDir, name, ADAPTER_CONFIG_FILE));
  }

  isLoaded(name: string): boolean {
    return this.lru.has(name);
  }

  hasHead(name: string): boolean {
    return existsSync(join(this.adaptersDir, name, HEAD_CONFIG_FILE));
  }

  /** Names loaded now, least recently used first. */
  loaded(): string[] {
    return [...this.lru.keys()];
  }

  list(): AdapterListing[] {
    return this.known().map((name) => {
      const entry = this.lru.get(name);
      const error = this.failed.get(name);
      return {
        name,
        loaded: entry !== undefined,
        hasHead: this.hasHead(name),
        ...(entry ? { parameters: entry.parameters, bytes: entry.parameters * 4 } : {}),
        ...(error !== undefined ? { error } : {}),
      };
    });
  }

  /** Bytes of the loaded adapters' (and heads') parameters, float32. */
  loadedBytes(): number {
    let n = 0;
    for (const e of this.lru.values()) n += e.parameters * 4;
    return n;
  }

  /** Keep `names` loaded until {@link unpin} (a batch that uses them is running). */
  pin(names: readonly string[]): void {
    for (const n of names) this.pins.set(n, (this.pins.get(n) ?? 0) + 1);
  }

  unpin(names: readonly string[]): void {
    for (const n of names) {
      const c = (this.pins.get(n) ?? 0) - 1;
      if (c <= 0) this.pins.delete(n);
      else this.pins.set(n, c);
    }
  }

  /**
   * Make `name` loaded (most recently used). Throws 404 for an unknown name, 422 for a folder that fails (or failed)
   * to load, 503 when every loaded adapter is pinned and the LRU is full. `retry` forgets a remembered failure.
   */
  async ensure(name: string, field = 'adapter', retry = false): Promise<void> {
    const hit = this.lru.get(name);
    if (hit) {
      this.lru.delete(name);
      this.lru.set(name, hit);
      return;
    }
    if (!this.isServable(name)) {
      throw new ServeError(404, 'UNKNOWN_ADAPTER', `'${field}': no adapter named '${name}' in the adapters folder (have: ${this.known().join(', ') || 'none'})`, field);
    }
    if (retry) this.failed.delete(name);
    const failure = this.failed.get(name);
    if (failure !== undefined) throw new ServeError(422, 'ADAPTER_LOAD_FAILED', `adapter '${name}' failed to load: ${failure}`, field);
    while (this.lru.size >= this.maxLoaded) {
      const victim = [...this.lru.keys()].find((n) => !this.pins.has(n));
      if (victim === undefined) throw new ServeError(503, 'ADAPTERS_BUSY', `all ${this.maxLoaded} loaded adapters are in use; retry later`, field);
      this.unload(victim);
      this.metrics.adapterEvictions++;
    }
    const dir = join(this.adaptersDir, name);
    try {
      await this.model.loadAdapter(dir, { loadAs: name, ...(this.hasHead(name) ? { companions: [headCompanion] } : {}) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.failed.set(name, message);
      this.metrics.adapterLoadFailures++;
      throw new ServeError(422, 'ADAPTER_LOAD_FAILED', `adapter '${name}' failed to load: ${message}`, field, { cause: err });
    }
    const heads = getHeads(this.model);
    let parameters = this.model.adapterParams(name).reduce((s, p) => s + p.variable.size, 0);
    if (heads.has(name)) parameters += heads.require(name).list().reduce((s, p) => s + p.variable.size, 0);
    this.lru.set(name, { parameters });
    this.metrics.adapterLoads++;
    while (this.loadedBytes() > this.maxLoadedBytes) {
      const victim = [...this.lru.keys()].find((n) => n !== name && !this.pins.has(n));
      if (victim === undefined) break;
      this.unload(victim);
      this.metrics.adapterEvictions++;
    }
    this.metrics.adaptersLoaded = this.lru.size;
  }

  /** Unload `name` (adapter and head variables disposed). Returns false when it was not loaded. */
  unload(name: string): boolean {
    if (!this.lru.has(name)) return false;
    if (this.pins.has(name)) throw new ServeError(409, 'ADAPTER_IN_USE', `adapter '${name}' is used by a running batch`, 'name');
    this.model.deleteAdapter(name);
    const heads = getHeads(this.model);
    if (heads.has(name)) heads.delete(name);
    this.lru.delete(name);
    this.metrics.adaptersLoaded = this.lru.size;
    return true;
  }

  /** Unload everything. */
  clear(): void {
    for (const n of [...this.lru.keys()]) this.unload(n);
  }
}
