/**
 * Weights files of saved adapters, heads, fusions and models: locating them (safetensors first, then the torch
 * `.bin` the reference libraries write), reading either format into one shape, and serialising in the format(s)
 * asked for. The torch format lives in `@adapterkit/torch-format` (no dependencies); its errors reach callers as
 * {@link TorchCheckpointError} with the same code.
 *
 * @packageDocumentation
 */
import { parseTorchCheckpoint, serializeTorchCheckpoint, TorchFormatError, type TorchReadOptions, type WritableTorchDtype } from '@adapterkit/torch-format';
import { FileFormatError, TorchCheckpointError } from '../errors';
import { refLabel, toFileRef, toSource, type FileRef, type SourceInput } from './source';
import { readSafetensors, serializeSafetensors, type SafetensorsContents, type TensorEntry } from './safetensors';

/** What {@link findWeightsFile} looks for. */
export interface WeightsFileSpec {
  /** Safetensors file names to accept, in order of preference. */
  readonly candidates: readonly string[];
  /** The torch `.bin` name(s) of the same weights (e.g. `pytorch_adapter.bin`), read when no candidate is there. */
  readonly torchFile: string | readonly string[];
  /** What the weights are, for messages (`adapter weights`). */
  readonly what: string;
}

/**
 * The first of `spec.candidates` present in `dir`, else the first torch file present.
 *
 * @param dir - The folder (a path, URL, map of files, zip, directory handle: see {@link SourceInput}).
 * @throws FileFormatError `MISSING_FILE` when none is there; the message starts with the folder and lists the names.
 */
export async function findWeightsFile(dir: SourceInput, spec: WeightsFileSpec): Promise<FileRef> {
  const source = toSource(dir);
  const torch = typeof spec.torchFile === 'string' ? [spec.torchFile] : spec.torchFile;
  for (const f of [...spec.candidates, ...torch]) if (await source.has(f)) return { source, name: f };
  throw new FileFormatError('MISSING_FILE', `${source.label}: no ${spec.what} (${[...spec.candidates, ...torch].join(' or ')})`);
}

/** Whether a path names a torch checkpoint (`.bin`, `.pt`, `.pth`) rather than safetensors. */
export function isTorchWeightsPath(path: string | FileRef): boolean {
  return /\.(bin|pt|pth)$/i.test(typeof path === 'string' ? path : path.name);
}

/**
 * Reads a weights file of either format into the safetensors reader's shape (tensors in file order; floats as
 * float32, float16/bfloat16/float64 converted; integers as int32). A torch file is never executed: see
 * `@adapterkit/torch-format`.
 *
 * @param file - A `.safetensors` file, or a torch checkpoint (`.bin`/`.pt`/`.pth`, zip or legacy format).
 * @throws SafetensorsError, or TorchCheckpointError (code `TORCH_*`, or `TORCH_IO` when the file cannot be read).
 */
export async function readWeightsFile(file: string | FileRef, opts?: TorchReadOptions): Promise<SafetensorsContents> {
  if (!isTorchWeightsPath(file)) return readSafetensors(file);
  const ref = toFileRef(file);
  const path = refLabel(ref);
  let bytes: Uint8Array | undefined;
  try {
    bytes = await ref.source.read(ref.name);
  } catch (err) {
    throw new TorchCheckpointError('TORCH_IO', `${path}: cannot read file: ${(err as Error).message}`, { cause: err });
  }
  if (bytes === undefined) throw new TorchCheckpointError('TORCH_IO', `${path}: cannot read file: no such file`);
  try {
    const { tensors } = parseTorchCheckpoint(bytes, path, opts);
    return { tensors: tensors as Map<string, TensorEntry>, metadata: {} };
  } catch (err) {
    if (err instanceof TorchFormatError) throw new TorchCheckpointError(err.code, err.message, { cause: err });
    throw err;
  }
}

/** Which files a save writes: `safetensors` (default), `bin` (the torch `.bin` adapter-transformers 3.x reads), or `both`. */
export type WeightsFormat = 'safetensors' | 'bin' | 'both';

/** The formats {@link WeightsFormat} accepts, for option checks. */
export const WEIGHTS_FORMATS: readonly WeightsFormat[] = ['safetensors', 'bin', 'both'];

/** File names of one kind of weights in both formats. */
export interface WeightsFileNames {
  /** e.g. `adapter.safetensors`. */
  readonly safetensors: string;
  /** e.g. `pytorch_adapter.bin`. */
  readonly bin: string;
}

/**
 * Keys in the order PyTorch's `state_dict()` lists them: grouped by module (a module's keys stay together, in the
 * order its first key appears), and within a module its own parameters before those of its sub-modules (e.g. a
 * learned `scaling` before `adapter_down.*`). Applied to `.bin` files, whose key order `torch.save` keeps.
 */
export function stateDictOrder(keys: readonly string[]): string[] {
  interface Node {
    leaf?: string;
    readonly children: Map<string, Node>;
  }
  const root: Node = { children: new Map() };
  for (const key of keys) {
    let node = root;
    for (const seg of key.split('.')) {
      let next = node.children.get(seg);
      if (!next) node.children.set(seg, (next = { children: new Map() }));
      node = next;
    }
    node.leaf = key;
  }
  const out: string[] = [];
  const walk = (node: Node): void => {
    for (const c of node.children.values()) if (c.leaf !== undefined && c.children.size === 0) out.push(c.leaf);
    for (const c of node.children.values()) {
      if (c.leaf !== undefined && c.children.size > 0) out.push(c.leaf);
      if (c.children.size > 0) walk(c);
    }
  };
  walk(root);
  return out;
}

/**
 * A tensor to save: float32 data, or integer/bool buffers (`dtype` as read: `I64` and `I32` keep their width in a
 * `.bin`, integers default to int64 there as in torch; `BOOL` stays bool).
 */
export interface WeightsTensor {
  readonly shape: number[];
  readonly data: Float32Array | Int32Array | Uint8Array;
  readonly dtype?: string;
}

/**
 * Serialises tensors in the format(s) asked for: safetensors as the Python `safetensors` library lays it
 * out, `.bin` as `torch.save(state_dict)` (torch 1.13 zip format, keys in {@link stateDictOrder}, the archive named
 * after the file as `torch.save` names it).
 *
 * @throws FileFormatError `BAD_FORMAT` for an unknown format.
 */
export function serializeWeights(
  tensors: Readonly<Record<string, WeightsTensor>>,
  format: WeightsFormat,
  names: WeightsFileNames,
): Record<string, Uint8Array> {
  if (!WEIGHTS_FORMATS.includes(format)) throw new FileFormatError('BAD_FORMAT', `unknown weights format '${String(format)}' (use ${WEIGHTS_FORMATS.join(', ')})`);
  const out: Record<string, Uint8Array> = {};
  const entries = Object.entries(tensors);
  if (format !== 'bin') {
    out[names.safetensors] = serializeSafetensors(
      Object.fromEntries(entries.map(([k, t]) => [k, { shape: t.shape, data: t.data, ...(t.data instanceof Uint8Array && t.dtype === 'BOOL' ? { dtype: 'BOOL' as const } : {}) }])),
    );
  }
  if (format !== 'safetensors') {
    const torchDtype = (t: WeightsTensor): WritableTorchDtype =>
      t.data instanceof Float32Array ? 'F32' : t.data instanceof Int32Array ? (t.dtype === 'I32' ? 'I32' : 'I64') : t.dtype === 'BOOL' ? 'BOOL' : 'U8';
    try {
      const ordered = stateDictOrder(entries.map(([k]) => k)).map((k) => [k, tensors[k]!] as const);
      out[names.bin] = serializeTorchCheckpoint(new Map(ordered.map(([k, t]) => [k, { shape: t.shape, data: t.data, dtype: torchDtype(t) }])), {
        archiveName: names.bin.split('.')[0]!,
      });
    } catch (err) {
      if (err instanceof TorchFormatError) throw new TorchCheckpointError(err.code, err.message, { cause: err });
      throw err;
    }
  }
  return out;
}

/**
 * Which Python libraries open a weights file, by name (for the messages that list saved files).
 *
 * - `.bin` (`pytorch_adapter.bin`, `pytorch_model_head.bin`, `pytorch_model_adapter_fusion.bin`):
 *   adapter-transformers 3.x, `adapters` (all versions), and AdapterKit.
 * - AdapterHub safetensors (`adapter.safetensors`, `model_head.safetensors`, `model_adapter_fusion.safetensors`):
 *   `adapters` ≥ 0.2.1 with `use_safetensors=True`, and AdapterKit; not adapter-transformers.
 */
export function weightsFileReaders(file: string): string {
  if (isTorchWeightsPath(file)) return 'adapter-transformers 3.x, adapters, AdapterKit';
  if (file.startsWith('adapter_model.')) return 'PEFT, AdapterKit';
  return 'adapters ≥ 0.2.1 (use_safetensors=True), AdapterKit';
}
