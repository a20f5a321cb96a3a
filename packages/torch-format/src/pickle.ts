/**
 * A restricted unpickler written for torch state dicts. It reads the opcodes of protocols 2–5 that `torch.save`
 * produces and builds plain values; globals are resolved against an allow-list of names this file implements itself
 * (`collections.OrderedDict`, the tensor rebuild functions, the storage classes, `torch.device`, `_codecs.encode`).
 * Any other global is refused when the `GLOBAL`/`STACK_GLOBAL` opcode names it, before anything could call it;
 * nothing from the file is ever executed.
 *
 * @packageDocumentation
 */
import { fail } from './errors';

/** A Python tuple (lists are JS arrays, dicts `Map`s, `None` is `null`). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** An allow-listed global, by its module and name. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/** `torch.device(...)` as a value. */
export class PyDevice {
  constructor(readonly type: string) {}
}

/** What `_rebuild_tensor(_v2)` produced: a view into a storage, resolved by the reader. */
export class TensorRef {
  constructor(
    readonly storage: unknown,
    readonly offset: unknown,
    readonly size: unknown,
    readonly stride: unknown,
    readonly at: number,
  ) {}
}

/** Limits of the unpickler. */
export interface PickleLimits {
  /** Most memo entries (`BINPUT`/`MEMOIZE`). */
  readonly maxMemo: number;
  /** Deepest nesting of `MARK`s (the containers being built at once). */
  readonly maxDepth: number;
  /** Most items on the stack. */
  readonly maxStack: number;
  /** Longest string or bytes value. */
  readonly maxStringBytes: number;
}

/** Storage classes (`torch.<Name>`), with the dtype each holds. */
export const STORAGE_DTYPES: Readonly<Record<string, string>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
  UntypedStorage: 'U8',
};

const REBUILDS = new Set(['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state']);

function allowed(module: string, name: string): boolean {
  if (module === 'collections' && name === 'OrderedDict') return true;
  if (module === 'torch._utils' && REBUILDS.has(name)) return true;
  if (module === 'torch' && (Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name) || name === 'device')) return true;
  if (module === 'torch.storage' && name === 'UntypedStorage') return true;
  if (module === '_codecs' && name === 'encode') return true;
  return false;
}

/** The names `unpickle` accepts, for messages and documentation. */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  ...[...REBUILDS].map((n) => `torch._utils.${n}`),
  ...Object.keys(STORAGE_DTYPES).map((n) => `torch.${n}`),
  'torch.storage.UntypedStorage',
  'torch.device',
  '_codecs.encode',
];

/** Arguments of an allow-listed call as a list, or a typed error. */
function argsOf(args: unknown, what: string, where: string): readonly unknown[] {
  if (!(args instanceof PyTuple)) fail('TORCH_PICKLE', `${where}: arguments of ${what} are not a tuple`);
  return args.items;
}

/** Calls an allow-listed global with our own implementation. */
function call(fn: unknown, args: unknown, where: string, at: number): unknown {
  if (!(fn instanceof PyGlobal)) fail('TORCH_PICKLE', `${where}: REDUCE on a value that is not a global (byte ${at})`);
  const what = fn.toString();
  const a = argsOf(args, what, where);
  if (fn.module === 'collections') {
    const m = new Map<unknown, unknown>();
    if (a.length === 0) return m;
    const items = a[0];
    if (a.length === 1 && Array.isArray(items)) {
      for (const pair of items) {
        const kv = pair instanceof PyTuple ? pair.items : Array.isArray(pair) ? pair : undefined;
        if (!kv || kv.length !== 2) fail('TORCH_PICKLE', `${where}: OrderedDict item is not a pair (byte ${at})`);
        m.set(kv[0], kv[1]);
      }
      return m;
    }
    return fail('TORCH_PICKLE', `${where}: unsupported OrderedDict arguments (byte ${at})`);
  }
  if (fn.module === 'torch._utils') {
    if (fn.name === '_rebuild_tensor_v2' || fn.name === '_rebuild_tensor') {
      const min = fn.name === '_rebuild_tensor' ? 4 : 6;
      if (a.length < min || a.length > min + 1) fail('TORCH_PICKLE', `${where}: ${what} takes ${min} arguments, got ${a.length} (byte ${at})`);
      return new TensorRef(a[0], a[1], a[2], a[3], at);
    }
    if (a.length < 1 || !(a[0] instanceof TensorRef)) fail('TORCH_PICKLE', `${where}: ${what} needs a tensor (byte ${at})`);
    return a[0];
  }
  if (fn.module === 'torch' && fn.name === 'device') {
    if (a.length < 1 || typeof a[0] !== 'string') fail('TORCH_PICKLE', `${where}: torch.device needs a string (byte ${at})`);
    return new PyDevice(a[0]);
  }
  if (fn.module === '_codecs') {
    const [s, enc] = a;
    if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) fail('TORCH_PICKLE', `${where}: _codecs.encode is only read as encode(str, 'latin1') (byte ${at})`);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c > 255) fail('TORCH_PICKLE', `${where}: _codecs.encode: character ${c} is not latin1 (byte ${at})`);
      out[i] = c;
    }
    return out;
  }
  return fail('TORCH_GLOBAL', `${where}: ${what} is not callable (byte ${at})`);
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/**
 * Unpickles one pickle starting at `start`.
 *
 * @param bytes - The buffer holding the pickle.
 * @param start - Where it starts.
 * @param where - Names the source in messages (`file: entry`).
 * @param limits - See {@link PickleLimits}.
 * @param persistentLoad - Resolves `BINPERSID` ids (storages); absent = a pickle with a persistent id is refused.
 * @returns The value and the offset after its `STOP`.
 * @throws TorchFormatError `TORCH_PICKLE`, `TORCH_GLOBAL`, `TORCH_LIMIT`.
 */
export function unpickle(
  bytes: Uint8Array,
  start: number,
  where: string,
  limits: PickleLimits,
  persistentLoad?: (pid: unknown, at: number) => unknown,
): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  let p = start;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let op = 0;
  let at = 0;

  const need = (k: number): void => {
    if (p + k > n) fail('TORCH_PICKLE', `${where}: pickle ends inside opcode 0x${op.toString(16)} at byte ${at}`);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('TORCH_PICKLE', `${where}: stack underflow at opcode 0x${op.toString(16)} (byte ${at})`);
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('TORCH_PICKLE', `${where}: stack underflow at opcode 0x${op.toString(16)} (byte ${at})`);
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (prev === undefined) fail('TORCH_PICKLE', `${where}: no MARK for opcode 0x${op.toString(16)} (byte ${at})`);
    stack = prev;
    return items;
  };
  const push = (v: unknown): void => {
    if (stack.length >= limits.maxStack) fail('TORCH_LIMIT', `${where}: more than maxStack (${limits.maxStack}) values on the pickle stack (byte ${at})`);
    stack.push(v);
  };
  const str = (len: number, kind: 'utf8' | 'latin1' | 'bytes'): void => {
    if (len > limits.maxStringBytes) fail('TORCH_LIMIT', `${where}: string of ${len} bytes at byte ${at} exceeds maxStringBytes (${limits.maxStringBytes})`);
    need(len);
    const b = bytes.subarray(p, p + len);
    p += len;
    if (kind === 'bytes') push(b.slice());
    else if (kind === 'latin1') push(latin1(b));
    else {
      try {
        push(utf8.decode(b));
      } catch (err) {
        fail('TORCH_PICKLE', `${where}: string at byte ${at} is not valid UTF-8`, err);
      }
    }
  };
  const put = (idx: number): void => {
    if (!memo.has(idx) && memo.size >= limits.maxMemo) fail('TORCH_LIMIT', `${where}: more than maxMemo (${limits.maxMemo}) memo entries (byte ${at})`);
    memo.set(idx, top());
  };
  const get = (idx: number): void => {
    if (!memo.has(idx)) fail('TORCH_PICKLE', `${where}: memo entry ${idx} read before it was written (byte ${at})`);
    push(memo.get(idx));
  };
  const global = (module: string, name: string): void => {
    if (!allowed(module, name)) {
      fail('TORCH_GLOBAL', `${where}: pickle refers to ${module}.${name} (byte ${at}); only state-dict globals are allowed (${ALLOWED_GLOBALS.join(', ')})`);
    }
    push(new PyGlobal(module, name));
  };
  const setItems = (target: unknown, items: unknown[]): void => {
    if (!(target instanceof Map)) fail('TORCH_PICKLE', `${where}: SETITEM(S) on a value that is not a dict (byte ${at})`);
    if (items.length % 2 !== 0) fail('TORCH_PICKLE', `${where}: SETITEMS with an odd number of values (byte ${at})`);
    for (let i = 0; i < items.length; i += 2) {
      target.set(items[i], items[i + 1]);
    }
  };
  const line = (): string => {
    let e = p;
    while (e < n && bytes[e] !== 0x0a) e++;
    if (e >= n) fail('TORCH_PICKLE', `${where}: unterminated GLOBAL at byte ${at}`);
    if (e - p > 1024) fail('TORCH_LIMIT', `${where}: GLOBAL name at byte ${at} is longer than 1024 bytes`);
    const s = latin1(bytes.subarray(p, e));
    p = e + 1;
    return s;
  };

  for (;;) {
    at = p;
    if (p >= n) fail('TORCH_PICKLE', `${where}: pickle ends without STOP (byte ${p})`);
    op = bytes[p++]!;
    switch (op) {
      case 0x80: // PROTO
        need(1);
        if (bytes[p]! < 2 || bytes[p]! > 5) fail('TORCH_PICKLE', `${where}: pickle protocol ${bytes[p]} is not read (2–5 are)`);
        p++;
        break;
      case 0x95: {
        // FRAME
        need(8);
        const len = view.getBigUint64(p, true);
        p += 8;
        if (len > BigInt(n - p)) fail('TORCH_PICKLE', `${where}: frame of ${len} bytes at byte ${at} runs past the end`);
        break;
      }
      case 0x2e: // STOP
        if (metastack.length !== 0) fail('TORCH_PICKLE', `${where}: STOP with an open MARK (byte ${at})`);
        {
          const value = pop();
          return { value, end: p };
        }
      case 0x28: // MARK
        if (metastack.length >= limits.maxDepth) fail('TORCH_LIMIT', `${where}: MARKs nested deeper than maxDepth (${limits.maxDepth}) at byte ${at}`);
        metastack.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x8f: // EMPTY_SET
        push(new Set());
        break;
      case 0x74: // TUPLE
        {
          const items = popMark();
          push(new PyTuple(items));
        }
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const m = new Map();
        setItems(m, items);
        push(m);
        break;
      }
      case 0x4a: // BININT
        need(4);
        push(view.getInt32(p, true));
        p += 4;
        break;
      case 0x4b: // BININT1
        need(1);
        push(bytes[p++]);
        break;
      case 0x4d: // BININT2
        need(2);
        push(view.getUint16(p, true));
        p += 2;
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        let len: number;
        if (op === 0x8a) {
          need(1);
          len = bytes[p++]!;
        } else {
          need(4);
          len = view.getInt32(p, true);
          p += 4;
          if (len < 0 || len > 64) fail('TORCH_LIMIT', `${where}: LONG4 of ${len} bytes at byte ${at} (at most 64 are read)`);
        }
        need(len);
        let v = 0n;
        for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[p + i]!);
        if (len > 0 && bytes[p + len - 1]! & 0x80) v -= 1n << BigInt(8 * len);
        p += len;
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT
        need(8);
        push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x58: // BINUNICODE
        need(4);
        p += 4;
        str(view.getUint32(p - 4, true), 'utf8');
        break;
      case 0x8c: // SHORT_BINUNICODE
        need(1);
        str(bytes[p++]!, 'utf8');
        break;
      case 0x8d: // BINUNICODE8
      case 0x8e: // BINBYTES8
      case 0x96: {
        // BYTEARRAY8
        need(8);
        const len = view.getBigUint64(p, true);
        p += 8;
        if (len > BigInt(limits.maxStringBytes)) fail('TORCH_LIMIT', `${where}: string of ${len} bytes at byte ${at} exceeds maxStringBytes (${limits.maxStringBytes})`);
        str(Number(len), op === 0x8d ? 'utf8' : 'bytes');
        break;
      }
      case 0x54: // BINSTRING (Python 2 str)
        need(4);
        p += 4;
        if (view.getInt32(p - 4, true) < 0) fail('TORCH_PICKLE', `${where}: negative BINSTRING length at byte ${at}`);
        str(view.getInt32(p - 4, true), 'latin1');
        break;
      case 0x55: // SHORT_BINSTRING
        need(1);
        str(bytes[p++]!, 'latin1');
        break;
      case 0x42: // BINBYTES
        need(4);
        p += 4;
        str(view.getUint32(p - 4, true), 'bytes');
        break;
      case 0x43: // SHORT_BINBYTES
        need(1);
        str(bytes[p++]!, 'bytes');
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const name = line();
        global(module, name);
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('TORCH_PICKLE', `${where}: STACK_GLOBAL needs two strings (byte ${at})`);
        global(module, name);
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        push(call(fn, args, where, at));
        break;
      }
      case 0x81: {
        // NEWOBJ: only OrderedDict.__new__(OrderedDict)
        pop();
        const cls = pop();
        if (!(cls instanceof PyGlobal) || cls.module !== 'collections') fail('TORCH_GLOBAL', `${where}: NEWOBJ of ${String(cls)} is not allowed (byte ${at})`);
        push(new Map());
        break;
      }
      case 0x62: {
        // BUILD: state of an OrderedDict (its _metadata attribute) or a tensor; read and ignored
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map) && !(obj instanceof TensorRef)) fail('TORCH_PICKLE', `${where}: BUILD on a value that is not a dict or tensor (byte ${at})`);
        void state;
        break;
      }
      case 0x71: // BINPUT
        need(1);
        put(bytes[p++]!);
        break;
      case 0x72: // LONG_BINPUT
        need(4);
        put(view.getUint32(p, true));
        p += 4;
        break;
      case 0x94: // MEMOIZE
        put(memo.size);
        break;
      case 0x68: // BINGET
        need(1);
        get(bytes[p++]!);
        break;
      case 0x6a: // LONG_BINGET
        need(4);
        get(view.getUint32(p, true));
        p += 4;
        break;
      case 0x61: {
        // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) fail('TORCH_PICKLE', `${where}: APPEND to a value that is not a list (byte ${at})`);
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('TORCH_PICKLE', `${where}: APPENDS to a value that is not a list (byte ${at})`);
        for (const v of items) list.push(v);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) fail('TORCH_PICKLE', `${where}: ADDITEMS to a value that is not a set (byte ${at})`);
        for (const v of items) set.add(v);
        break;
      }
      case 0x91: // FROZENSET
        push(new Set(popMark()));
        break;
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!persistentLoad) fail('TORCH_PICKLE', `${where}: persistent id outside the state-dict pickle (byte ${at})`);
        push(persistentLoad(pid, at));
        break;
      }
      case 0x30: // POP
        if (stack.length === 0) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      default:
        fail('TORCH_PICKLE', `${where}: pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${at} is not supported`);
    }
  }
}
