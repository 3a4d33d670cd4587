/**
 * A restricted unpickler: a virtual machine for the pickle opcodes of protocols 2–5 that state_dicts and checkpoint
 * dicts use (CPython's Lib/pickle.py and pickletools.py document each). It builds plain values itself and executes
 * nothing from the file: a GLOBAL is looked up in the caller's allow-list (`PickleEnv.resolveGlobal`, which refuses
 * everything else before any other opcode runs), and REDUCE, NEWOBJ and BINPERSID can only call the TypeScript
 * functions that allow-list holds. The idea is PyTorch's own `torch/_weights_only_unpickler.py`.
 *
 * The input is untrusted, so everything is bounded: opcodes executed, the stack, nested marks, the memo, ints' byte
 * lengths, strings and bytes (against the input left), and the result — its nesting depth and its size counted as a
 * tree (shared values counted once per reference, so a walk of the result always ends soon). A list or dict is
 * sealed once it is placed inside another value; changing it afterwards is refused, so the result has no cycles.
 */
import { badFile, damaged, quote, SAVE_WEIGHTS } from './fail';
import type { TorchDict, TorchValue } from './values';

/** A global from the allow-list: our own implementation of what the file names, never the file's code. */
export class PickleGlobal {
  constructor(
    /** "module.name", for messages. */
    readonly name: string,
    /** REDUCE: called with the argument tuple's items; absent when the global is not callable. */
    readonly call?: (args: readonly PickleItem[]) => PickleItem,
    /** NEWOBJ: cls.__new__(cls, *args); absent when the global is not a class that may be built. */
    readonly construct?: (args: readonly PickleItem[]) => PickleItem,
  ) {}
}

/** An object the caller hands out (a tensor storage): an argument for allow-listed calls, never part of the result. */
export abstract class PickleOpaque {
  /** What it is, for messages ("a FloatStorage"). */
  abstract readonly description: string;
}

/** What the pickle stack holds: result values, and tuples that may hold globals and storages (call arguments). */
export type PickleItem = TorchValue | PickleGlobal | PickleOpaque | PickleItem[];

/** The unpickler's window on the world: the allow-list and the storages. */
export interface PickleEnv {
  /** GLOBAL and STACK_GLOBAL: an allow-listed global (or a plain value); throws a GatescopeError for anything else. */
  resolveGlobal(module: string, name: string): PickleItem;
  /** BINPERSID: the object a persistent id names. */
  persistentLoad(pid: PickleItem): PickleItem;
}

export interface PickleLimits {
  /** Opcodes executed (each reads at least one byte, so this also bounds the time). */
  readonly maxOps: number;
  /** Items on the stack, marks included. */
  readonly maxStack: number;
  /** MARKs open at once. */
  readonly maxMarks: number;
  /** Memo entries. */
  readonly maxMemo: number;
  /** Nesting of lists, tuples and dicts in any value built. */
  readonly maxDepth: number;
  /** Size of any value built, counted as a tree: every reference to a shared value counts its whole size again. */
  readonly maxNodes: number;
  /** Bytes of one LONG1/LONG4 integer. */
  readonly maxIntBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxOps: 100_000_000,
  maxStack: 1 << 20,
  maxMarks: 1024,
  maxMemo: 1 << 21,
  maxDepth: 100,
  maxNodes: 1 << 24,
  maxIntBytes: 1024,
};

/** Opcodes (pickletools.py's names). */
const OP = {
  PROTO: 0x80, FRAME: 0x95, STOP: 0x2e, MARK: 0x28, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  BINPUT: 0x71, LONG_BINPUT: 0x72, BINGET: 0x68, LONG_BINGET: 0x6a, MEMOIZE: 0x94,
  NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, LONG4: 0x8b, BINFLOAT: 0x47,
  BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINSTRING: 0x54, SHORT_BINSTRING: 0x55,
  BINBYTES: 0x42, SHORT_BINBYTES: 0x43, BINBYTES8: 0x8e,
  EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, APPEND: 0x61, APPENDS: 0x65, LIST: 0x6c,
  EMPTY_DICT: 0x7d, DICT: 0x64, SETITEM: 0x73, SETITEMS: 0x75,
  GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, BUILD: 0x62, NEWOBJ: 0x81, BINPERSID: 0x51,
} as const;

/** Real opcodes this reader does not run: text-protocol forms, old-style instances, extensions, sets, buffers. */
const UNSUPPORTED: ReadonlyMap<number, string> = new Map([
  [0x49, 'INT'], [0x4c, 'LONG'], [0x46, 'FLOAT'], [0x53, 'STRING'], [0x56, 'UNICODE'], [0x70, 'PUT'], [0x67, 'GET'],
  [0x50, 'PERSID'], [0x69, 'INST'], [0x6f, 'OBJ'], [0x82, 'EXT1'], [0x83, 'EXT2'], [0x84, 'EXT4'], [0x92, 'NEWOBJ_EX'],
  [0x8f, 'EMPTY_SET'], [0x90, 'ADDITEMS'], [0x91, 'FROZENSET'], [0x96, 'BYTEARRAY8'], [0x97, 'NEXT_BUFFER'],
  [0x98, 'READONLY_BUFFER'],
]);

const HIGHEST_PROTOCOL = 5;
/** GLOBAL's module and name lines; Python identifiers in dotted paths, far shorter in practice. */
const MAX_GLOBAL_LINE = 1024;

/** Nesting depth and tree size of a value built; leaves are depth 0, size 1. */
interface Extent {
  depth: number;
  size: number;
}

const LEAF: Extent = { depth: 0, size: 1 };

/** Runs `data` (a whole pickle) and returns the value its STOP leaves; throws a GatescopeError for anything else. */
export function unpickle(data: Uint8Array, env: PickleEnv, limits: PickleLimits = DEFAULT_PICKLE_LIMITS): TorchValue {
  return new Unpickler(data, env, limits).run();
}

class Unpickler {
  private readonly view: DataView;
  private pos = 0;
  private readonly stack: PickleItem[] = [];
  /** Stack heights at each open MARK: items below the innermost are out of reach, as in Python's metastack. */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleItem>();
  private readonly tuples = new WeakSet<PickleItem[]>();
  private readonly sealed = new WeakSet<object>();
  private readonly extents = new WeakMap<object, Extent>();
  /** Tuples holding a global or a storage somewhere inside: usable as arguments, never in the result. */
  private readonly tainted = new WeakMap<PickleItem[], string>();
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(
    private readonly data: Uint8Array,
    private readonly env: PickleEnv,
    private readonly limits: PickleLimits,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  run(): TorchValue {
    const { limits } = this;
    for (let ops = 1; ; ops++) {
      if (ops > limits.maxOps) throw tooBig(`runs more than ${limits.maxOps} opcodes`);
      if (this.pos >= this.data.length) throw damaged('its pickle data.pkl ends before its STOP opcode');
      const at = this.pos;
      const op = this.data[this.pos++]!;
      switch (op) {
        case OP.PROTO: {
          const protocol = this.u8();
          if (protocol > HIGHEST_PROTOCOL) {
            throw badFile(`This PyTorch file was pickled with protocol ${protocol}, newer than the protocols 2 to ${HIGHEST_PROTOCOL} Gatescope reads; save it again with torch.save's default protocol.`);
          }
          break;
        }
        case OP.FRAME:
          // a length hint for buffered reading; the frame's opcodes follow inline
          this.need(this.u64());
          break;
        case OP.STOP: {
          const result = this.pop();
          if (this.stack.length !== 0 || this.marks.length !== 0) throw damaged('its pickle stops with values left on its stack');
          this.checkResult(result);
          return result as TorchValue;
        }
        case OP.MARK:
          if (this.marks.length >= limits.maxMarks) throw tooBig(`opens more than ${limits.maxMarks} marks at once`);
          this.marks.push(this.stack.length);
          break;
        case OP.POP:
          if (this.stack.length > this.base()) this.stack.pop();
          else this.popMark();
          break;
        case OP.POP_MARK:
          this.popMark();
          break;
        case OP.DUP:
          this.push(this.top());
          break;

        case OP.BINPUT:
          this.put(this.u8());
          break;
        case OP.LONG_BINPUT:
          this.put(this.u32());
          break;
        case OP.MEMOIZE:
          this.put(this.memo.size);
          break;
        case OP.BINGET:
          this.get(this.u8());
          break;
        case OP.LONG_BINGET:
          this.get(this.u32());
          break;

        case OP.NONE:
          this.push(null);
          break;
        case OP.NEWTRUE:
          this.push(true);
          break;
        case OP.NEWFALSE:
          this.push(false);
          break;
        case OP.BININT:
          this.need(4);
          this.push(this.view.getInt32(this.pos, true));
          this.pos += 4;
          break;
        case OP.BININT1:
          this.push(this.u8());
          break;
        case OP.BININT2:
          this.need(2);
          this.push(this.view.getUint16(this.pos, true));
          this.pos += 2;
          break;
        case OP.LONG1:
          this.push(this.long(this.u8()));
          break;
        case OP.LONG4: {
          this.need(4);
          const n = this.view.getInt32(this.pos, true);
          this.pos += 4;
          if (n < 0) throw damaged('its pickle holds an integer of negative length');
          this.push(this.long(n));
          break;
        }
        case OP.BINFLOAT:
          this.need(8);
          this.push(this.view.getFloat64(this.pos, false)); // big-endian, unlike every other pickle number
          this.pos += 8;
          break;

        case OP.BINUNICODE:
        case OP.BINSTRING: // Python 2 str: torch.load decodes it as UTF-8
          this.push(this.text(op === OP.BINSTRING ? this.i32Length() : this.u32()));
          break;
        case OP.SHORT_BINUNICODE:
        case OP.SHORT_BINSTRING:
          this.push(this.text(this.u8()));
          break;
        case OP.BINUNICODE8:
          this.push(this.text(this.u64()));
          break;
        case OP.BINBYTES:
          this.push(this.bytes(this.u32()));
          break;
        case OP.SHORT_BINBYTES:
          this.push(this.bytes(this.u8()));
          break;
        case OP.BINBYTES8:
          this.push(this.bytes(this.u64()));
          break;

        case OP.EMPTY_TUPLE:
          this.push(this.tuple([]));
          break;
        case OP.TUPLE:
          this.push(this.tuple(this.popMark()));
          break;
        case OP.TUPLE1:
        case OP.TUPLE2:
        case OP.TUPLE3: {
          const n = op - OP.TUPLE1 + 1;
          if (this.stack.length - this.base() < n) throw damaged('its pickle builds a tuple from values it does not have');
          this.push(this.tuple(this.stack.splice(this.stack.length - n, n)));
          break;
        }

        case OP.EMPTY_LIST:
          this.push(this.container([]));
          break;
        case OP.LIST: {
          const items = this.popMark();
          const list = this.container([]);
          for (const item of items) this.append(list, item);
          this.push(list);
          break;
        }
        case OP.APPEND: {
          const item = this.pop();
          this.append(this.top(), item);
          break;
        }
        case OP.APPENDS: {
          const items = this.popMark();
          const list = this.top();
          for (const item of items) this.append(list, item);
          break;
        }

        case OP.EMPTY_DICT:
          this.push(this.container(new Map()));
          break;
        case OP.DICT: {
          const items = this.popMark();
          const dict = this.container(new Map());
          this.setItems(dict, items);
          this.push(dict);
          break;
        }
        case OP.SETITEM: {
          const value = this.pop();
          const key = this.pop();
          this.setItems(this.top(), [key, value]);
          break;
        }
        case OP.SETITEMS: {
          const items = this.popMark();
          this.setItems(this.top(), items);
          break;
        }

        case OP.GLOBAL: {
          const module = this.line();
          const name = this.line();
          this.push(this.adopt(this.env.resolveGlobal(module, name)));
          break;
        }
        case OP.STACK_GLOBAL: {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw damaged('its pickle names a global with something other than strings');
          this.push(this.adopt(this.env.resolveGlobal(module, name)));
          break;
        }
        case OP.REDUCE: {
          const args = this.pop();
          const func = this.pop();
          if (!this.isTuple(args)) throw damaged(`its pickle calls ${describe(func)} with ${describe(args)} instead of an argument tuple`);
          if (!(func instanceof PickleGlobal) || func.call === undefined) throw notCallable(func);
          this.push(this.adopt(func.call(args)));
          break;
        }
        case OP.NEWOBJ: {
          const args = this.pop();
          const cls = this.pop();
          if (!this.isTuple(args)) throw damaged(`its pickle builds ${describe(cls)} with ${describe(args)} instead of an argument tuple`);
          if (!(cls instanceof PickleGlobal) || cls.construct === undefined) throw notCallable(cls);
          this.push(this.adopt(cls.construct(args)));
          break;
        }
        case OP.BUILD: {
          // only OrderedDict's attributes (a state_dict's _metadata: module versions), which the result leaves out
          const state = this.pop();
          const target = this.top();
          if (!(target instanceof Map) || this.sealed.has(target)) throw damaged(`its pickle sets the state of ${describe(target)}`);
          if (!(state === null || state instanceof Map)) throw damaged(`its pickle sets a dict's attributes from ${describe(state)}`);
          break;
        }
        case OP.BINPERSID:
          this.push(this.adopt(this.env.persistentLoad(this.pop())));
          break;

        default: {
          const name = UNSUPPORTED.get(op);
          if (name === undefined) throw damaged(`byte ${at} of its pickle data.pkl, 0x${op.toString(16).padStart(2, '0')}, is not a pickle opcode`);
          throw badFile(`This PyTorch file's pickle uses the opcode ${name}, which a state_dict never needs; nothing from the file was run, and it can be read once saved with ${SAVE_WEIGHTS}.`);
        }
      }
    }
  }

  // --- reading the input: every length is checked against what is left ---

  private need(n: number): void {
    if (n > this.data.length - this.pos) throw damaged('its pickle data.pkl ends in the middle of an opcode');
  }

  private u8(): number {
    this.need(1);
    return this.data[this.pos++]!;
  }

  private u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private i32Length(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    if (v < 0) throw damaged('its pickle holds a string of negative length');
    return v;
  }

  /** A u64 length: anything past the input left is refused before it is converted. */
  private u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(this.data.length - this.pos)) throw damaged('its pickle data.pkl ends in the middle of an opcode');
    return Number(v);
  }

  private slice(n: number): Uint8Array {
    this.need(n);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private text(n: number): string {
    const raw = this.slice(n);
    try {
      return this.utf8.decode(raw);
    } catch {
      throw damaged('a string in its pickle is not valid UTF-8');
    }
  }

  private bytes(n: number): Uint8Array {
    return this.slice(n).slice();
  }

  /** A newline-terminated line of GLOBAL. */
  private line(): string {
    const end = Math.min(this.data.length, this.pos + MAX_GLOBAL_LINE);
    let nl = this.pos;
    while (nl < end && this.data[nl] !== 0x0a) nl++;
    if (nl >= end) throw damaged('its pickle names a global without ending the line');
    const text = this.text(nl - this.pos);
    this.pos++; // the newline
    return text;
  }

  /** LONG1/LONG4: n bytes of little-endian two's complement; a number when it is exact, else a bigint. */
  private long(n: number): number | bigint {
    if (n > this.limits.maxIntBytes) throw tooBig(`holds an integer of ${n} bytes (the limit is ${this.limits.maxIntBytes})`);
    const raw = this.slice(n);
    if (n === 0) return 0;
    if (n <= 6) {
      let v = 0;
      for (let i = n - 1; i >= 0; i--) v = v * 256 + raw[i]!;
      return raw[n - 1]! & 0x80 ? v - 2 ** (8 * n) : v;
    }
    let hex = '';
    for (let i = n - 1; i >= 0; i--) hex += raw[i]!.toString(16).padStart(2, '0');
    let v = BigInt(`0x${hex}`);
    if (raw[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  // --- the stack, marks and memo ---

  private base(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
  }

  private push(item: PickleItem): void {
    if (this.stack.length >= this.limits.maxStack) throw tooBig(`puts more than ${this.limits.maxStack} values on its stack`);
    this.stack.push(item);
  }

  private pop(): PickleItem {
    if (this.stack.length <= this.base()) throw damaged('its pickle takes a value from an empty stack');
    return this.stack.pop()!;
  }

  private top(): PickleItem {
    if (this.stack.length <= this.base()) throw damaged('its pickle takes a value from an empty stack');
    return this.stack[this.stack.length - 1]!;
  }

  private popMark(): PickleItem[] {
    const at = this.marks.pop();
    if (at === undefined) throw damaged('its pickle closes a mark it never opened');
    return this.stack.splice(at);
  }

  private put(index: number): void {
    if (!this.memo.has(index) && this.memo.size >= this.limits.maxMemo) throw tooBig(`memoizes more than ${this.limits.maxMemo} values`);
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    const item = this.memo.get(index);
    if (item === undefined) throw damaged(`its pickle recalls memo entry ${index}, which it never stored`);
    this.push(item);
  }

  // --- values: tuples are immutable, lists and dicts sealed once inside another value ---

  private isTuple(item: PickleItem): item is PickleItem[] {
    return Array.isArray(item) && this.tuples.has(item);
  }

  private extent(item: PickleItem): Extent {
    return (typeof item === 'object' && item !== null && this.extents.get(item)) || LEAF;
  }

  private grow(into: object, child: PickleItem, extent: Extent): void {
    const c = this.extent(child);
    extent.depth = Math.max(extent.depth, c.depth + 1);
    extent.size += c.size;
    if (extent.depth > this.limits.maxDepth) throw tooBig(`nests values more than ${this.limits.maxDepth} levels deep`);
    if (extent.size > this.limits.maxNodes) throw tooBig(`builds a value of more than ${this.limits.maxNodes} items`);
    if (typeof child === 'object' && child !== null && this.extents.has(child)) this.sealed.add(child);
    this.extents.set(into, extent);
  }

  private tuple(items: PickleItem[]): PickleItem[] {
    const extent: Extent = { depth: 1, size: 1 };
    for (const item of items) {
      this.grow(items, item, extent);
      const inside = this.outsider(item);
      if (inside !== undefined && !this.tainted.has(items)) this.tainted.set(items, inside);
    }
    this.extents.set(items, extent);
    this.tuples.add(items);
    return items;
  }

  private container<T extends PickleItem[] | TorchDict>(empty: T): T {
    this.extents.set(empty, { depth: 1, size: 1 });
    return empty;
  }

  /** Registers what an allow-listed function returned: a new empty dict or list, or an array of known values. */
  private adopt(item: PickleItem): PickleItem {
    if (typeof item !== 'object' || item === null || this.extents.has(item)) return item;
    if (Array.isArray(item)) return this.tuple(item);
    if (item instanceof Map) {
      if (item.size !== 0) throw damaged('an allow-listed call returned a filled dict');
      return this.container(item);
    }
    return item;
  }

  /** What keeps an item out of the result: a global, a storage, or a tuple holding one. */
  private outsider(item: PickleItem): string | undefined {
    if (item instanceof PickleGlobal) return item.name;
    if (item instanceof PickleOpaque) return item.description;
    if (Array.isArray(item)) return this.tainted.get(item);
    return undefined;
  }

  private checkResult(item: PickleItem): void {
    const outsider = this.outsider(item);
    if (outsider !== undefined) throw damaged(`its pickle puts ${outsider} itself into the loaded value`);
  }

  private checkMutable(target: object, what: string): void {
    if (this.sealed.has(target)) throw damaged(`its pickle changes a ${what} after placing it inside another value`);
  }

  private append(list: PickleItem, item: PickleItem): void {
    if (!Array.isArray(list) || this.tuples.has(list)) throw damaged(`its pickle appends to ${describe(list)}`);
    this.checkMutable(list, 'list');
    if (item === list) throw damaged('its pickle puts a list inside itself');
    this.checkResult(item);
    const extent = this.extent(list);
    this.grow(list, item, extent);
    list.push(item as TorchValue);
  }

  private setItems(dict: PickleItem, items: PickleItem[]): void {
    if (!(dict instanceof Map)) throw damaged(`its pickle sets items of ${describe(dict)}`);
    if (items.length % 2 !== 0) throw damaged('its pickle sets a dict key without a value');
    this.checkMutable(dict, 'dict');
    const extent = this.extent(dict);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i]!;
      const value = items[i + 1]!;
      if (typeof key !== 'string' && typeof key !== 'number') {
        throw badFile(`This PyTorch file has a dict key that is ${describe(key)}; Gatescope reads dicts keyed by strings and integers, as state_dicts and checkpoints are.`);
      }
      if (value === dict) throw damaged('its pickle puts a dict inside itself');
      this.checkResult(value);
      this.grow(dict, value, extent);
      dict.set(key, value as TorchValue);
    }
  }
}

function tooBig(what: string): Error {
  return badFile(`This PyTorch file's pickle ${what}, far more than a state_dict needs; it is corrupt, or not a state_dict: save the weights with ${SAVE_WEIGHTS}.`);
}

function notCallable(item: PickleItem): Error {
  if (item instanceof PickleGlobal) {
    return badFile(`This PyTorch file calls ${item.name} in a way a state_dict never does; nothing from the file was run, and it can be read once saved with ${SAVE_WEIGHTS}.`);
  }
  return damaged(`its pickle calls ${describe(item)}`);
}

/** What an item is, for messages. */
export function describe(item: PickleItem): string {
  if (item === null) return 'None';
  if (typeof item === 'boolean') return `the bool ${item ? 'True' : 'False'}`;
  if (typeof item === 'number' || typeof item === 'bigint') return `the number ${item}`;
  if (typeof item === 'string') return `the string ${quote(item)}`;
  if (item instanceof Uint8Array) return 'bytes';
  if (Array.isArray(item)) return 'a list or tuple';
  if (item instanceof Map) return 'a dict';
  if (item instanceof PickleGlobal) return item.name;
  if (item instanceof PickleOpaque) return item.description;
  return 'a tensor';
}
