import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import packageJson from '../package.json';

/** The addon's exports (csrc/addon.cc). */
export interface NativeAddon {
  /**
   * `out[..., m, n] = act(op(a)·op(b) + bias)` on the wasm heap. `heap` is the wasm memory as a Uint8Array (read
   * anew for each call); offsets are in bytes; `aBatch`/`bBatch` are the batch shapes (broadcast numpy-style);
   * `biasOffset` −1 for none; activation codes: 0 linear, 1 relu, 2 relu6, 3 leakyrelu (`alpha`), 4 sigmoid, 5 elu.
   */
  matMul(
    heap: Uint8Array, aOffset: number, aBatch: number[], bOffset: number, bBatch: number[], outOffset: number,
    m: number, k: number, n: number, transposeA: boolean, transposeB: boolean,
    biasOffset: number, biasLength: number, activation: number, alpha: number,
  ): void;
  /**
   * `out[i] = f(x[i])` over `n` float32 values; op 0 exp, 1 erf (tfjs's formula: Abramowitz & Stegun 7.1.26),
   * 2 square, 3 neg, 4 sqrt, 5 rsqrt.
   */
  unary(heap: Uint8Array, xOffset: number, outOffset: number, n: number, op: number): void;
  /** Softmax of each row of `x` viewed as `[rows, n]` (float32): `exp(x − max) / Σ exp(x − max)`. */
  softmax(heap: Uint8Array, xOffset: number, outOffset: number, rows: number, n: number): void;
  /**
   * `out = a op b` over the output viewed as `[outer, inner]` (op 0 add, 1 sub, 2 mul, 3 div); each operand's mode
   * says how it maps onto that view: 0 the full matrix, 1 a row of `inner` values, 2 a column of `outer`, 3 a scalar.
   */
  binary(heap: Uint8Array, aOffset: number, aMode: number, bOffset: number, bMode: number, outOffset: number, outer: number, inner: number, op: number): void;
  /** `out[i, :] = x[indices[i], :]` over 4-byte rows; every index is checked against `[0, rows)` first. */
  gatherRows(heap: Uint8Array, xOffset: number, rows: number, rowLength: number, indicesOffset: number, count: number, outOffset: number): void;
  /**
   * `out[o, i] = Σ_r x[o, r, i]` (op 0) or that sum / `mid` (op 1, mean) for float32 `x` viewed as `[outer, mid, inner]`
   * and `out` as `[outer, inner]`.
   */
  reduce(heap: Uint8Array, xOffset: number, outOffset: number, outer: number, mid: number, inner: number, op: number): void;
  /** Transpose of 4-byte elements: `out = x.transpose(perm)` for `x` of `shape` (rank ≤ 8). */
  transpose(heap: Uint8Array, xOffset: number, shape: number[], perm: number[], outOffset: number): void;
  /** Set OpenBLAS's thread count; returns the count in effect. */
  setThreads(threads: number): number;
  getThreads(): number;
  /** OpenBLAS build and the kernel set it picked for this CPU, e.g. `OpenBLAS 0.3.21 DYNAMIC_ARCH … (core SkylakeX)`. */
  blas(): string;
  version(): string;
}

/**
 * Whether the addon loaded, or why not: `version` is this package's version, `addonVersion` the one compiled into
 * the binary (its interface version, which changes only when the binary must be rebuilt).
 */
export type NativeStatus = { available: true; version: string; addonVersion: string; blas: string } | { available: false; reason: string };

/** The folder under prebuilds/ for this platform (`linux-x64`), or why there is none. */
function prebuildFolder(): { folder: string } | { reason: string } {
  const platform = `${process.platform}-${process.arch}`;
  if (platform !== 'linux-x64') return { reason: `no prebuilt binary for ${platform} (prebuilds cover linux-x64 glibc; build from source: pnpm --filter @adapterkit/native run rebuild:native)` };
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  if (!header?.glibcVersionRuntime) return { reason: 'no prebuilt binary for linux-x64 without glibc (musl): build from source with node-gyp' };
  return { folder: platform };
}

let loaded: { addon: NativeAddon; status: NativeStatus } | { addon?: undefined; status: NativeStatus } | undefined;

/** Candidate binaries, in order: the prebuild for this platform, then a node-gyp build (`csrc/build/Release`). */
function candidates(): { paths: string[]; prebuildReason?: string } {
  const root = new URL('..', import.meta.url); // package root, from src/ and from dist/ alike
  const paths: string[] = [];
  const pre = prebuildFolder();
  if ('folder' in pre) paths.push(fileURLToPath(new URL(`prebuilds/${pre.folder}/adapterkit_native.node`, root)));
  paths.push(fileURLToPath(new URL('csrc/build/Release/adapterkit_native.node', root)));
  return { paths, ...('reason' in pre ? { prebuildReason: pre.reason } : {}) };
}

/** Load the addon once; never throws. */
export function loadAddon(): { addon?: NativeAddon; status: NativeStatus } {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const { paths, prebuildReason } = candidates();
  const failures: string[] = prebuildReason ? [prebuildReason] : [];
  for (const path of paths) {
    if (!existsSync(path)) {
      if (!prebuildReason || !path.includes('prebuilds')) failures.push(`${path}: not found`);
      continue;
    }
    try {
      const addon = require(path) as NativeAddon;
      loaded = { addon, status: { available: true, version: packageJson.version, addonVersion: addon.version(), blas: addon.blas() } };
      return loaded;
    } catch (err) {
      failures.push(`${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  loaded = { status: { available: false, reason: failures.join('; ') } };
  return loaded;
}
