/**
 * The zip container of torch checkpoints: a reader that validates the central directory before touching entry data,
 * and a writer that lays entries out as `torch.save` (PyTorch's `PyTorchStreamWriter`, miniz) does: stored entries,
 * data aligned to 64 bytes by an `FB` extra field, data descriptors, a zip64 end record.
 *
 * @packageDocumentation
 */
import { crc32 } from './crc32';
import { fail } from './errors';
import { inflateRaw } from './inflate';

/** One entry of the central directory. */
export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: 0 | 8;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  /** Offset of the local header. */
  readonly headerOffset: number;
}

/** Limits of {@link readZipDirectory} and {@link readZipEntry}. */
export interface ZipLimits {
  /** Most entries accepted. */
  readonly maxEntries: number;
  /** Largest uncompressed size of a deflated entry. */
  readonly maxInflatedBytes: number;
  /** Verify CRC-32 of every entry read. */
  readonly verifyCrc: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_Z64_LOCATOR = 0x07064b50;
const SIG_Z64_EOCD = 0x06064b50;
const SIG_DESCRIPTOR = 0x08074b50;

function u64(view: DataView, at: number, what: string, source: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('TORCH_ZIP', `${source}: ${what} ${v} is out of range`);
  return Number(v);
}

/** Whether `bytes` starts like a zip file. */
export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

/**
 * Reads and validates the central directory: end records (zip64 too), every entry's name (UTF-8), method (stored or
 * deflated, no encryption), sizes and offsets within the file, local headers agreeing with the directory, no
 * duplicate names.
 *
 * @throws TorchFormatError `TORCH_ZIP`, `TORCH_ENTRY` (duplicates), `TORCH_LIMIT` (entry count).
 */
export function readZipDirectory(bytes: Uint8Array, source: string, limits: ZipLimits): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  let eocd = -1;
  for (let i = len - 22; i >= Math.max(0, len - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === SIG_EOCD && i + 22 + view.getUint16(i + 20, true) === len) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('TORCH_ZIP', `${source}: no zip end-of-central-directory record (truncated file?)`);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) fail('TORCH_ZIP', `${source}: multi-disk zip files are not supported`);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== SIG_Z64_LOCATOR) fail('TORCH_ZIP', `${source}: zip64 end-of-central-directory locator missing`);
    const rec = u64(view, loc + 8, 'zip64 end record offset', source);
    if (rec + 56 > loc || view.getUint32(rec, true) !== SIG_Z64_EOCD) fail('TORCH_ZIP', `${source}: zip64 end-of-central-directory record missing at byte ${rec}`);
    count = u64(view, rec + 32, 'entry count', source);
    cdSize = u64(view, rec + 40, 'central directory size', source);
    cdOffset = u64(view, rec + 48, 'central directory offset', source);
  }
  if (count > limits.maxEntries) fail('TORCH_LIMIT', `${source}: zip has ${count} entries, more than maxEntries (${limits.maxEntries})`);
  if (cdOffset + cdSize > eocd || count * 46 > cdSize) {
    fail('TORCH_ZIP', `${source}: central directory (${count} entries, ${cdSize} bytes at byte ${cdOffset}) does not fit before the end record at byte ${eocd}`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cdEnd || view.getUint32(p, true) !== SIG_CENTRAL) fail('TORCH_ZIP', `${source}: central directory entry ${k} at byte ${p} is malformed`);
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let csize = view.getUint32(p + 20, true);
    let usize = view.getUint32(p + 24, true);
    const nlen = view.getUint16(p + 28, true);
    const elen = view.getUint16(p + 30, true);
    const clen = view.getUint16(p + 32, true);
    let off = view.getUint32(p + 42, true);
    if (p + 46 + nlen + elen + clen > cdEnd) fail('TORCH_ZIP', `${source}: central directory entry ${k} at byte ${p} runs past the directory`);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(p + 46, p + 46 + nlen));
    } catch (err) {
      return fail('TORCH_ZIP', `${source}: central directory entry ${k} has a name that is not UTF-8`, err);
    }
    // zip64 extra field
    let e = p + 46 + nlen;
    const eEnd = e + elen;
    while (e + 4 <= eEnd) {
      const id = view.getUint16(e, true);
      const size = view.getUint16(e + 2, true);
      if (e + 4 + size > eEnd) fail('TORCH_ZIP', `${source}: entry ${JSON.stringify(name)} has a malformed extra field`);
      if (id === 0x0001) {
        let q = e + 4;
        const take = (what: string): number => {
          if (q + 8 > e + 4 + size) fail('TORCH_ZIP', `${source}: entry ${JSON.stringify(name)} zip64 field lacks the ${what}`);
          const v = u64(view, q, `${what} of ${JSON.stringify(name)}`, source);
          q += 8;
          return v;
        };
        if (usize === 0xffffffff) usize = take('size');
        if (csize === 0xffffffff) csize = take('compressed size');
        if (off === 0xffffffff) off = take('offset');
      }
      e += 4 + size;
    }
    const what = `${source}: zip entry ${JSON.stringify(name)}`;
    if (flags & 1) fail('TORCH_ZIP', `${what} is encrypted`);
    if (method !== 0 && method !== 8) fail('TORCH_ZIP', `${what} uses compression method ${method} (only stored and deflated are read)`);
    if (method === 0 && csize !== usize) fail('TORCH_ZIP', `${what} is stored but its sizes differ (${csize} vs ${usize})`);
    if (method === 8 && usize > limits.maxInflatedBytes) fail('TORCH_LIMIT', `${what} inflates to ${usize} bytes, more than maxInflatedBytes (${limits.maxInflatedBytes})`);
    if (method === 8 && usize > csize * 1032 + 64) fail('TORCH_ZIP', `${what} declares ${usize} bytes from ${csize} deflated bytes, beyond deflate's maximum ratio`);
    if (off + 30 > cdOffset || view.getUint32(off, true) !== SIG_LOCAL) fail('TORCH_ZIP', `${what}: no local header at byte ${off}`);
    const lnlen = view.getUint16(off + 26, true);
    const lelen = view.getUint16(off + 28, true);
    const dataStart = off + 30 + lnlen + lelen;
    if (lnlen !== nlen || !bytes.subarray(off + 30, off + 30 + nlen).every((b, i) => b === bytes[p + 46 + i])) {
      fail('TORCH_ZIP', `${what}: the local header at byte ${off} names another file`);
    }
    if (dataStart + csize > cdOffset) fail('TORCH_ZIP', `${what}: ${csize} bytes of data at byte ${dataStart} run past the central directory (byte ${cdOffset})`);
    if (entries.has(name)) fail('TORCH_ENTRY', `${what} appears twice`);
    entries.set(name, { name, method: method as 0 | 8, crc, compressedSize: csize, size: usize, headerOffset: off });
    p += 46 + nlen + elen + clen;
  }
  return entries;
}

/**
 * The (uncompressed) bytes of an entry: a view into `bytes` for stored entries, a new buffer for deflated ones.
 *
 * @throws TorchFormatError `TORCH_ZIP` on bad deflate data or a CRC mismatch.
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, source: string, limits: ZipLimits): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = entry.headerOffset + 30 + view.getUint16(entry.headerOffset + 26, true) + view.getUint16(entry.headerOffset + 28, true);
  const raw = bytes.subarray(start, start + entry.compressedSize);
  const data = entry.method === 0 ? raw : inflateRaw(raw, entry.size, `${source}: zip entry ${JSON.stringify(entry.name)}`);
  if (limits.verifyCrc && crc32(data) !== entry.crc) fail('TORCH_ZIP', `${source}: zip entry ${JSON.stringify(entry.name)} fails its CRC-32 check`);
  return data;
}

const ALIGN = 64;

/**
 * Writes stored entries in `torch.save`'s layout (PyTorch 1.13 byte for byte): local headers with data descriptors
 * (flags 0x0808, sizes in the descriptor), an `FB` extra field padding each entry's data to 64 bytes, the central
 * directory, a zip64 end record and locator, and the end record. Entries must be under 4 GiB each.
 *
 * @throws TorchFormatError `TORCH_SERIALIZE` for entries ≥ 4 GiB or a total ≥ 4 GiB.
 */
export function writeZip(entries: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const items = entries.map((e) => ({ name: enc.encode(e.name), data: e.data, crc: crc32(e.data), offset: 0, pad: 0 }));
  let pos = 0;
  for (const it of items) {
    if (it.data.length >= 0xffffffff) fail('TORCH_SERIALIZE', `zip entry ${JSON.stringify(it.name)} is 4 GiB or larger`);
    it.offset = pos;
    const start = pos + 30 + it.name.length + 4;
    it.pad = (ALIGN - (start % ALIGN)) % ALIGN;
    pos = start + it.pad + it.data.length + 16;
  }
  const cdOffset = pos;
  const cdSize = items.reduce((a, it) => a + 46 + it.name.length, 0);
  const total = cdOffset + cdSize + 56 + 20 + 22;
  if (total >= 0xffffffff) fail('TORCH_SERIALIZE', `checkpoint of ${total} bytes is too large (4 GiB or more)`);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  for (const it of items) {
    let p = it.offset;
    v.setUint32(p, SIG_LOCAL, true);
    v.setUint16(p + 6, 0x0808, true);
    v.setUint16(p + 26, it.name.length, true);
    v.setUint16(p + 28, 4 + it.pad, true);
    out.set(it.name, p + 30);
    p += 30 + it.name.length;
    out[p] = 0x46; // F
    out[p + 1] = 0x42; // B
    v.setUint16(p + 2, it.pad, true);
    out.fill(0x5a, p + 4, p + 4 + it.pad); // Z
    p += 4 + it.pad;
    out.set(it.data, p);
    p += it.data.length;
    v.setUint32(p, SIG_DESCRIPTOR, true);
    v.setUint32(p + 4, it.crc, true);
    v.setUint32(p + 8, it.data.length, true);
    v.setUint32(p + 12, it.data.length, true);
  }
  let p = cdOffset;
  for (const it of items) {
    v.setUint32(p, SIG_CENTRAL, true);
    v.setUint16(p + 8, 0x0808, true);
    v.setUint32(p + 16, it.crc, true);
    v.setUint32(p + 20, it.data.length, true);
    v.setUint32(p + 24, it.data.length, true);
    v.setUint16(p + 28, it.name.length, true);
    v.setUint32(p + 42, it.offset, true);
    out.set(it.name, p + 46);
    p += 46 + it.name.length;
  }
  const z64 = p;
  v.setUint32(p, SIG_Z64_EOCD, true);
  v.setBigUint64(p + 4, 44n, true);
  v.setUint16(p + 12, 0x031e, true);
  v.setUint16(p + 14, 0x2d, true);
  v.setBigUint64(p + 24, BigInt(items.length), true);
  v.setBigUint64(p + 32, BigInt(items.length), true);
  v.setBigUint64(p + 40, BigInt(cdSize), true);
  v.setBigUint64(p + 48, BigInt(cdOffset), true);
  p += 56;
  v.setUint32(p, SIG_Z64_LOCATOR, true);
  v.setBigUint64(p + 8, BigInt(z64), true);
  v.setUint32(p + 16, 1, true);
  p += 20;
  v.setUint32(p, SIG_EOCD, true);
  v.setUint16(p + 8, Math.min(items.length, 0xffff), true);
  v.setUint16(p + 10, Math.min(items.length, 0xffff), true);
  v.setUint32(p + 12, cdSize, true);
  v.setUint32(p + 16, cdOffset, true);
  return out;
}
