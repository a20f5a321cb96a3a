/**
 * A small pure-JS raw DEFLATE decoder (RFC 1951) with a bounded output: it writes into a buffer of the size the zip
 * directory declares and fails as soon as the stream would write more (no zip bomb can allocate more than that), or
 * when it ends with less. Works the same in Node and browsers (no `node:zlib`). Follows zlib's `puff.c`.
 *
 * @packageDocumentation
 */
import { fail } from './errors';

interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
}

const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193,
  12289, 16385, 24577,
];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** Builds a canonical Huffman table; returns false when the lengths over-subscribe the code space. */
function build(lengths: ArrayLike<number>, n: number, where: string): Huffman {
  const count = new Uint16Array(16);
  const symbol = new Uint16Array(n);
  for (let s = 0; s < n; s++) count[lengths[s]!]!++;
  let left = 1;
  for (let len = 1; len < 16; len++) {
    left <<= 1;
    left -= count[len]!;
    if (left < 0) fail('TORCH_ZIP', `${where}: deflate data has an over-subscribed Huffman code`);
  }
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]!]!++] = s;
  count[0] = 0;
  return { count, symbol };
}

let FIXED: { lit: Huffman; dist: Huffman } | undefined;
function fixed(): { lit: Huffman; dist: Huffman } {
  if (FIXED) return FIXED;
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  const d = new Uint8Array(30).fill(5);
  FIXED = { lit: build(l, 288, 'fixed'), dist: build(d, 30, 'fixed') };
  return FIXED;
}

/**
 * Inflates raw DEFLATE data into exactly `outSize` bytes.
 *
 * @param src - The compressed bytes.
 * @param outSize - The declared uncompressed size (checked against limits by the caller before this allocates it).
 * @param where - Names the entry in error messages.
 * @throws TorchFormatError `TORCH_ZIP` on malformed data, or when the output is longer or shorter than `outSize`.
 */
export function inflateRaw(src: Uint8Array, outSize: number, where: string): Uint8Array {
  const out = new Uint8Array(outSize);
  let outPos = 0;
  let inPos = 0;
  let bitBuf = 0;
  let bitCnt = 0;
  const truncated = (): never => fail('TORCH_ZIP', `${where}: deflate data ends early (at byte ${inPos})`);
  const bits = (need: number): number => {
    let val = bitBuf;
    while (bitCnt < need) {
      if (inPos >= src.length) truncated();
      val |= src[inPos++]! << bitCnt;
      bitCnt += 8;
    }
    bitBuf = val >>> need;
    bitCnt -= need;
    return val & ((1 << need) - 1);
  };
  const decode = (h: Huffman): number => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len < 16; len++) {
      code |= bits(1);
      const count = h.count[len]!;
      if (code - count < first) return h.symbol[index + (code - first)]!;
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    return fail('TORCH_ZIP', `${where}: deflate data has an invalid Huffman code (byte ${inPos})`);
  };
  const tooLong = (): never => fail('TORCH_ZIP', `${where}: deflate data inflates to more than the declared ${outSize} bytes`);

  let last = 0;
  do {
    last = bits(1);
    const type = bits(2);
    if (type === 0) {
      bitBuf = 0;
      bitCnt = 0;
      if (inPos + 4 > src.length) truncated();
      const len = src[inPos]! | (src[inPos + 1]! << 8);
      const nlen = src[inPos + 2]! | (src[inPos + 3]! << 8);
      inPos += 4;
      if (len !== (~nlen & 0xffff)) fail('TORCH_ZIP', `${where}: stored deflate block length does not match its complement`);
      if (inPos + len > src.length) truncated();
      if (outPos + len > outSize) tooLong();
      out.set(src.subarray(inPos, inPos + len), outPos);
      inPos += len;
      outPos += len;
    } else if (type === 1 || type === 2) {
      let lit: Huffman;
      let dist: Huffman;
      if (type === 1) ({ lit, dist } = fixed());
      else {
        const nlen = bits(5) + 257;
        const ndist = bits(5) + 1;
        const ncode = bits(4) + 4;
        if (nlen > 286 || ndist > 30) fail('TORCH_ZIP', `${where}: deflate block declares too many codes`);
        const lengths = new Uint8Array(320);
        for (let i = 0; i < ncode; i++) lengths[CL_ORDER[i]!] = bits(3);
        const lencode = build(lengths, 19, where);
        const all = new Uint8Array(nlen + ndist);
        let i = 0;
        while (i < nlen + ndist) {
          let sym = decode(lencode);
          if (sym < 16) all[i++] = sym;
          else {
            let len = 0;
            if (sym === 16) {
              if (i === 0) fail('TORCH_ZIP', `${where}: deflate code lengths repeat with no previous length`);
              len = all[i - 1]!;
              sym = 3 + bits(2);
            } else if (sym === 17) sym = 3 + bits(3);
            else sym = 11 + bits(7);
            if (i + sym > nlen + ndist) fail('TORCH_ZIP', `${where}: deflate code lengths overflow`);
            while (sym--) all[i++] = len;
          }
        }
        if (all[256] === 0) fail('TORCH_ZIP', `${where}: deflate block has no end-of-block code`);
        lit = build(all.subarray(0, nlen), nlen, where);
        dist = build(all.subarray(nlen), ndist, where);
      }
      for (;;) {
        let sym = decode(lit);
        if (sym < 256) {
          if (outPos >= outSize) tooLong();
          out[outPos++] = sym;
        } else if (sym === 256) break;
        else {
          sym -= 257;
          if (sym >= 29) fail('TORCH_ZIP', `${where}: deflate data has an invalid length symbol`);
          const len = LBASE[sym]! + bits(LEXT[sym]!);
          const ds = decode(dist);
          if (ds >= 30) fail('TORCH_ZIP', `${where}: deflate data has an invalid distance symbol`);
          const d = DBASE[ds]! + bits(DEXT[ds]!);
          if (d > outPos) fail('TORCH_ZIP', `${where}: deflate distance ${d} reaches before the start of the output`);
          if (outPos + len > outSize) tooLong();
          for (let k = 0; k < len; k++, outPos++) out[outPos] = out[outPos - d]!;
        }
      }
    } else fail('TORCH_ZIP', `${where}: deflate block type 3 is invalid`);
  } while (!last);
  if (outPos !== outSize) fail('TORCH_ZIP', `${where}: deflate data inflates to ${outPos} bytes, the directory declares ${outSize}`);
  return out;
}
