import { GatescopeError } from '../engine/errors';
import { GATE_NAMES, isCellType, isPlainRnn } from '../engine/types';

/**
 * A trace as a file, in its two formats: what `gatescope trace --out` writes (and what the engine worker will write
 * when it streams the inspector's exports to a file), and the reader for the binary one. Pure: no Node, no DOM.
 *
 * - JSON (`traceJsonParts`): keys and scalars as literal text, every array a named block written as rows
 *   (`jsonRows`), numbers with 6 significant digits (`formatNumber`). A writer emits the parts in order and each
 *   block from wherever it keeps it (memory, or a temporary file of rows streamed while tracing).
 * - safetensors (`traceFileLayout`): one tensor per quantity (`traceTensors`), little-endian, contiguous in that
 *   order; every shape is known before tracing, so the header is computed first and the rows are written at their
 *   offsets as the segments come. The two numbers known only at the end (the loss, one prediction's loss) have
 *   room reserved in the header, which is written last.
 *
 * Tensors and blocks share their names: `tokens`, `top_ids`, `top_probs`, `p_next`, `entropy`, `probs`,
 * `layers.{l}.{q}` (q a gate, `c`, `h`, `grad_h`, `grad_c`; l 0-based, the model's own index), `saliency`,
 * `param_grads.{name}`.
 *
 * Dimension legend: T positions written (those of the range), V vocab, k most likely characters kept, H hidden,
 * L layers of the model.
 */

export const TRACE_FORMAT = 'gatescope-trace';
export const TRACE_VERSION = 2;

/** What a trace file holds, known before anything is traced: every tensor's name and shape follows from it. */
export interface TraceFileShape {
  readonly cell: string;
  readonly vocab: readonly string[];   // V = vocab.length; token id = index
  readonly hidden: number;             // H
  /** L, the model's layers. */
  readonly modelLayers: number;
  /** The layers written, 0-based, ascending. */
  readonly layers: readonly number[];
  /** Gate names in PyTorch's order (LSTM i, f, g, o; GRU r, z, n); none for the plain RNNs. */
  readonly gates: readonly string[];
  readonly hasC: boolean;
  /** T, positions written. */
  readonly T: number;
  /** Most likely characters kept per position (at most V). */
  readonly k: number;
  /** The whole (T, V) distribution too. */
  readonly fullProbs: boolean;
  /** One prediction's saliency (`--loss-at`). */
  readonly saliency: boolean;
  /** ∂loss/∂θ per tensor, in the model file's names and shapes; null without. */
  readonly paramGrads: readonly { readonly name: string; readonly shape: readonly number[] }[] | null;
}

/** What a trace file says about itself besides its arrays. */
export interface TraceFileFacts {
  /** The characters of the positions written. */
  readonly text: string;
  /** Mean cross-entropy of the next-character predictions of the text traced (up to the range's end), nats. */
  readonly loss: number;
  /** [a, b): the positions written, of the text traced from its start; null for the whole text. */
  readonly range: readonly [number, number] | null;
  /** The position whose prediction's loss the gradients are of (`--loss-at`), and that loss; null for the mean loss. */
  readonly lossAt: number | null;
  readonly lossAtValue: number | null;
}

export interface TraceTensor {
  readonly name: string;
  readonly dtype: 'F32' | 'I32';
  readonly shape: readonly number[];
  /** Byte offsets in the data section, [begin, end). */
  readonly begin: number;
  readonly end: number;
}

/** Per layer, the (T, H) quantities in the order written: the gates, c, h. */
export function layerQuantities(s: Pick<TraceFileShape, 'gates' | 'hasC'>): string[] {
  return [...s.gates, ...(s.hasC ? ['c'] : []), 'h'];
}

/** Every tensor of a trace file, laid out contiguously in the order written. */
export function traceTensors(s: TraceFileShape): TraceTensor[] {
  const { T, k, hidden: H } = s;
  const V = s.vocab.length;
  const out: TraceTensor[] = [];
  let offset = 0;
  const add = (name: string, dtype: 'F32' | 'I32', shape: readonly number[]): void => {
    const bytes = 4 * shape.reduce((a, d) => a * d, 1);
    out.push({ name, dtype, shape, begin: offset, end: offset + bytes });
    offset += bytes;
  };
  add('tokens', 'I32', [T]);
  add('top_ids', 'I32', [T, k]);
  add('top_probs', 'F32', [T, k]);
  add('p_next', 'F32', [T]);
  add('entropy', 'F32', [T]);
  if (s.fullProbs) add('probs', 'F32', [T, V]);
  for (const l of s.layers) {
    for (const q of layerQuantities(s)) add(`layers.${l}.${q}`, 'F32', [T, H]);
    add(`layers.${l}.grad_h`, 'F32', [T]);
    if (s.hasC) add(`layers.${l}.grad_c`, 'F32', [T]);
  }
  if (s.saliency) add('saliency', 'F32', [T]);
  for (const p of s.paramGrads ?? []) add(`param_grads.${p.name}`, 'F32', p.shape);
  return out;
}

/** The note on the gates' order a file carries: PyTorch's, the order of the rows of weight_ih_l{l}. */
function gateOrder(s: TraceFileShape): string | null {
  return s.gates.length === 0 ? null : `PyTorch order ${s.gates.join(', ')} (the row blocks of rnn.weight_ih_l{l} and rnn.weight_hh_l{l})`;
}

/** The `__metadata__` of a trace file: every value a string, as safetensors requires (lists as JSON). */
export function traceMetadata(s: TraceFileShape, f: TraceFileFacts): Record<string, string> {
  const order = gateOrder(s);
  return {
    format: TRACE_FORMAT,
    version: String(TRACE_VERSION),
    cell: s.cell,
    hidden: String(s.hidden),
    vocab: JSON.stringify(s.vocab),
    text: f.text,
    loss: String(f.loss),
    ...(f.range ? { range: JSON.stringify(f.range) } : {}),
    modelLayers: String(s.modelLayers),
    layers: JSON.stringify(s.layers),
    ...(order ? { gateOrder: order } : {}),
    ...(f.lossAt !== null ? { lossAt: String(f.lossAt), lossAtValue: String(f.lossAtValue) } : {}),
  };
}

/** A safetensors trace file's layout: its tensors, where the data starts, its size, and its header. */
export interface TraceFileLayout {
  readonly tensors: readonly TraceTensor[];
  readonly byName: ReadonlyMap<string, TraceTensor>;
  /** Bytes before the data section: the 8-byte length and the header (padded to keep the data 8-byte aligned). */
  readonly dataStart: number;
  /** The file's size in bytes. */
  readonly size: number;
  /** The header, exactly dataStart bytes, once the loss (and with `lossAt`, that prediction's loss) is known. */
  header(loss: number, lossAtValue: number | null): Uint8Array;
}

/** Longest String(x) of a double ("-2.2250738585072014e-308"): the room the late numbers have in the header. */
const NUMBER_ROOM = 24;

/**
 * The layout of a trace as safetensors, computed before anything is traced: the late facts (the loss, lossAtValue)
 * get room in the header, which `header()` fills and pads with spaces (as the format allows) to the same length.
 */
export function traceFileLayout(s: TraceFileShape, known: Omit<TraceFileFacts, 'loss' | 'lossAtValue'>): TraceFileLayout {
  const tensors = traceTensors(s);
  const room = 'x'.repeat(NUMBER_ROOM);
  const text = (loss: string, lossAtValue: string | null): string => {
    // assembled as text, as serializeSafetensors does: the key order is the layout's and no name touches a prototype
    const meta = traceMetadata(s, { ...known, loss: 0, lossAtValue: 0 });
    meta['loss'] = loss;
    if (known.lossAt !== null) meta['lossAtValue'] = lossAtValue!;
    const parts = [`"__metadata__":{${Object.entries(meta).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`];
    for (const t of tensors) parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${t.begin},${t.end}]}`);
    return `{${parts.join(',')}}`;
  };
  const most = utf8(text(room, room)).length;
  const dataStart = 8 + most + ((8 - ((8 + most) % 8)) % 8);
  const size = dataStart + (tensors.length ? tensors[tensors.length - 1]!.end : 0);
  return {
    tensors,
    byName: new Map(tensors.map((t) => [t.name, t])),
    dataStart,
    size,
    header(loss, lossAtValue) {
      const json = utf8(text(String(loss), lossAtValue === null ? null : String(lossAtValue)));
      if (json.length > dataStart - 8) throw new Error('traceFileLayout: the header outgrew its room');
      const out = new Uint8Array(dataStart).fill(0x20, 8 + json.length);
      new DataView(out.buffer).setBigUint64(0, BigInt(dataStart - 8), true);
      out.set(json, 8);
      return out;
    },
  };
}

// ---- numbers and JSON --------------------------------------------------------------------------------------------

/** 10^0 … 10^60 (exact up to 10^22). */
const POW10 = Array.from({ length: 61 }, (_, i) => Number(`1e${i}`));

/**
 * A number as the JSON of a trace writes it: 6 significant digits, the shortest text of the nearest double
 * (`String(Number(x.toPrecision(6)))`, 3× faster), null when not finite. float32 values keep 6 of their ~7 digits.
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return 'null';
  if (x === 0) return '0';
  const ax = x < 0 ? -x : x;
  // ax = m · 10^(e − 5) with m in [10^5, 10^6): six digits
  let e = Math.floor(Math.log10(ax));
  let s = scaled(ax, e);
  let m = Math.round(s);
  if (m >= 1e6) { e++; s = scaled(ax, e); m = Math.round(s); }
  else if (m < 1e5) { e--; s = scaled(ax, e); m = Math.round(s); }
  // within rounding of a tie, the scaling may have gone either way: toPrecision decides on the exact value
  const frac = s - Math.floor(s);
  if (frac > 0.5 - 1e-6 && frac < 0.5 + 1e-6) return String(Number(x.toPrecision(6)));
  let digits = String(m);
  let end = 6;
  while (digits.charCodeAt(end - 1) === 48) end--;
  digits = digits.slice(0, end);
  // Number::toString's layout of `digits` with the decimal point after n of them
  const n = e + 1;
  let out: string;
  if (end <= n && n <= 21) out = digits + '0'.repeat(n - end);
  else if (0 < n && n <= 21) out = `${digits.slice(0, n)}.${digits.slice(n)}`;
  else if (-6 < n && n <= 0) out = `0.${'0'.repeat(-n)}${digits}`;
  else out = `${digits[0]}${end > 1 ? `.${digits.slice(1)}` : ''}e${n - 1 > 0 ? '+' : '-'}${Math.abs(n - 1)}`;
  return x < 0 ? `-${out}` : out;
}

function scaled(ax: number, e: number): number {
  const j = 5 - e;
  return j >= 0 ? ax * POW10[j]! : ax / POW10[-j]!;
}

/**
 * Rows [from, to) of a (rows, cols) array as JSON text without the enclosing brackets: `[a,b],[c,d]`, or with
 * cols = 0 (a 1-D array) the values `a,b`. Integers as they are, floats by formatNumber.
 */
export function jsonRows(a: ArrayLike<number>, cols: number, from: number, to: number): string {
  const f = a instanceof Int32Array ? String : formatNumber;
  const parts: string[] = [];
  if (cols === 0) {
    for (let i = from; i < to; i++) parts.push(f(a[i]!));
    return parts.join(',');
  }
  const row: string[] = new Array(cols);
  for (let r = from; r < to; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) row[j] = f(a[o + j]!);
    parts.push(`[${row.join(',')}]`);
  }
  return parts.join(',');
}

/** A part of the JSON of a trace: literal text, or the block of a tensor's rows (cols 0: a 1-D array). */
export type TraceJsonPart = string | { readonly block: string; readonly cols: number };

/**
 * The JSON of a trace as parts, in order (every block written `[` rows `]`):
 * format, version, cell, vocab, text, range (when given), tokens, loss, top {k, ids [T][k], probs [T][k]},
 * pNext [T] (null at the last position of the text), entropy [T], probs [T][V] (with fullProbs), layers
 * (index l is layer l; null for a layer not written) each with gates by name, c, h as [T][H] and gradH, gradC as
 * [T], then lossAt, lossAtValue, saliency [T] (with a lossAt) and paramGrads {name: flat array}.
 */
export function traceJsonParts(s: TraceFileShape, f: TraceFileFacts): TraceJsonPart[] {
  const out: TraceJsonPart[] = [];
  const lit = (t: string): void => {
    const last = out[out.length - 1];
    if (typeof last === 'string') out[out.length - 1] = last + t;
    else out.push(t);
  };
  const block = (name: string, cols: number): void => {
    lit('[');
    out.push({ block: name, cols });
    lit(']');
  };
  lit(`{"format":${JSON.stringify(TRACE_FORMAT)},"version":${TRACE_VERSION},"cell":${JSON.stringify(s.cell)},"vocab":${JSON.stringify(s.vocab)},"text":${JSON.stringify(f.text)}`);
  if (f.range) lit(`,"range":[${f.range[0]},${f.range[1]}]`);
  lit(',"tokens":');
  block('tokens', 0);
  lit(`,"loss":${jsonScalar(f.loss)},"top":{"k":${s.k},"ids":`);
  block('top_ids', s.k);
  lit(',"probs":');
  block('top_probs', s.k);
  lit('},"pNext":');
  block('p_next', 0);
  lit(',"entropy":');
  block('entropy', 0);
  if (s.fullProbs) {
    lit(',"probs":');
    block('probs', s.vocab.length);
  }
  lit(',"layers":[');
  const written = new Set(s.layers);
  for (let l = 0; l < s.modelLayers; l++) {
    if (l > 0) lit(',');
    if (!written.has(l)) {
      lit('null');
      continue;
    }
    layerQuantities(s).forEach((q, i) => {
      lit(`${i === 0 ? '{' : ','}${JSON.stringify(q)}:`);
      block(`layers.${l}.${q}`, s.hidden);
    });
    lit(',"gradH":');
    block(`layers.${l}.grad_h`, 0);
    if (s.hasC) {
      lit(',"gradC":');
      block(`layers.${l}.grad_c`, 0);
    }
    lit('}');
  }
  lit(']');
  if (f.lossAt !== null) {
    lit(`,"lossAt":${f.lossAt},"lossAtValue":${jsonScalar(f.lossAtValue!)},"saliency":`);
    block('saliency', 0);
  }
  if (s.paramGrads) {
    lit(',"paramGrads":{');
    s.paramGrads.forEach((p, i) => {
      lit(`${i === 0 ? '' : ','}${JSON.stringify(p.name)}:`);
      block(`param_grads.${p.name}`, 0);
    });
    lit('}');
  }
  lit('}');
  return out;
}

/** A scalar (the losses) at full double precision, as JSON.stringify writes it (null when not finite). */
function jsonScalar(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

// ---- bytes ---------------------------------------------------------------------------------------------------------

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian bytes of a float32 or int32 array: a view of it on little-endian hosts, else a copy. */
export function littleEndianBytes(a: Float32Array | Int32Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const v = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) v.setFloat32(4 * i, a[i]!, true);
    else v.setInt32(4 * i, a[i]!, true);
  }
  return out;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

// ---- reading -----------------------------------------------------------------------------------------------------

/** One layer of a trace file: gates by name, c, h, each (T, H); the norms, each (T). */
export interface TraceFileLayer {
  readonly gates: Readonly<Record<string, Float32Array>>;
  readonly c: Float32Array | null;
  readonly h: Float32Array;
  readonly gradH: Float32Array;
  readonly gradC: Float32Array | null;
}

/** A safetensors trace file, read back. */
export interface TraceFile {
  readonly shape: TraceFileShape;
  readonly facts: TraceFileFacts;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tokens: Int32Array;                // (T)
  readonly predictions: {
    readonly k: number;
    readonly topIds: Int32Array;              // (T, k)
    readonly topProbs: Float32Array;          // (T, k)
    readonly pNext: Float32Array;             // (T)
    readonly entropy: Float32Array;           // (T)
  };
  readonly probs: Float32Array | null;        // (T, V)
  /** Index l is the model's layer l; null for a layer the file does not hold. */
  readonly layers: readonly (TraceFileLayer | null)[];
  readonly saliency: Float32Array | null;     // (T)
  readonly paramGrads: ReadonlyMap<string, Float32Array> | null;
}

/** Largest header read: the text (up to 200,000 characters, ≤ 4 bytes each in UTF-8, escaped) and the vocabulary. */
const MAX_HEADER_BYTES = 64 * 1024 * 1024;

function bad(message: string): never {
  throw new GatescopeError(`not a Gatescope trace file: ${message}`, 'invalid-input');
}

/**
 * Reads a safetensors trace file (untrusted): the header must be exactly the layout its own metadata implies
 * (traceTensors: every name, dtype, shape and offset, nothing more), and the data section exactly as long.
 */
export function readTraceFile(bytes: Uint8Array): TraceFile {
  if (bytes.length < 8) bad(`${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = view.getBigUint64(0, true);
  if (n64 > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) bad(`the header length ${n64} is beyond the file's ${bytes.length} bytes or the ${MAX_HEADER_BYTES}-byte limit`);
  const n = Number(n64);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    bad('the header is not UTF-8 JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('the header is not a JSON object');
  const h = header as Record<string, unknown>;
  const meta = own(h, '__metadata__');
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) bad('no __metadata__');
  const m = meta as Record<string, unknown>;
  const str = (key: string, optional = false): string | undefined => {
    const v = own(m, key);
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string') bad(`the metadata has no string "${key}"`);
    return v;
  };
  const int = (key: string, min: number, optional = false): number | undefined => {
    const v = str(key, optional);
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(x) || x < min) bad(`"${key}" is ${JSON.stringify(v.slice(0, 40))}, not a whole number ≥ ${min}`);
    return x;
  };
  const json = <T>(key: string, ok: (v: unknown) => v is T, optional = false): T | undefined => {
    const v = str(key, optional);
    if (v === undefined) return undefined;
    let x: unknown;
    try { x = JSON.parse(v); } catch { bad(`"${key}" is not JSON`); }
    if (!ok(x)) bad(`"${key}" is not what a trace file holds there`);
    return x;
  };
  if (str('format') !== TRACE_FORMAT) bad(`its format is ${JSON.stringify(str('format')!.slice(0, 40))}, not "${TRACE_FORMAT}"`);
  if (str('version') !== String(TRACE_VERSION)) bad(`version ${JSON.stringify(str('version')!.slice(0, 20))}; this Gatescope reads version ${TRACE_VERSION}`);
  for (const key of Object.keys(m)) if (typeof m[key] !== 'string') bad(`the metadata's "${key.slice(0, 40)}" is not a string`);
  const cell = str('cell')!;
  if (!isCellType(cell)) bad(`unknown cell ${JSON.stringify(cell.slice(0, 40))}`);
  const gates = isPlainRnn(cell) ? [] : GATE_NAMES[cell];
  const hidden = int('hidden', 1)!;
  const vocab = json('vocab', (v): v is string[] => Array.isArray(v) && v.length > 0 && v.every((c) => typeof c === 'string'))!;
  const modelLayers = int('modelLayers', 1)!;
  const layers = json('layers', (v): v is number[] => Array.isArray(v) && v.every((l, i) => Number.isInteger(l) && l >= 0 && l < modelLayers && (i === 0 || l > v[i - 1]!)))!;
  const range = json('range', (v): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x) && x >= 0) && v[0] < v[1], true) ?? null;
  const lossAt = int('lossAt', 0, true) ?? null;
  const num = (key: string): number => {
    const v = str(key)!;
    const x = Number(v);
    if (v.trim() === '' || (Number.isNaN(x) && v !== 'NaN')) bad(`"${key}" is not a number`);
    return x;
  };
  const loss = num('loss');
  const lossAtValue = lossAt === null ? null : num('lossAtValue');
  const text = str('text')!;

  // the shape the tensors must have, from the metadata and the sizes of the first two tensors
  const dims = (name: string): readonly number[] => {
    const t = own(h, name) as Record<string, unknown> | undefined;
    const s = t && typeof t === 'object' ? own(t, 'shape') : undefined;
    if (!Array.isArray(s) || !s.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`no tensor "${name}" with a shape`);
    return s as number[];
  };
  const T = dims('tokens')[0] ?? bad('"tokens" is not 1-D');
  const k = dims('top_ids')[1] ?? bad('"top_ids" is not 2-D');
  const names = Object.keys(h).filter((key) => key !== '__metadata__');
  const PG = 'param_grads.';
  const paramNames = names.filter((key) => key.startsWith(PG));
  const shape: TraceFileShape = {
    cell, vocab, hidden, modelLayers, layers, gates, hasC: cell === 'lstm', T, k,
    fullProbs: names.includes('probs'), saliency: lossAt !== null,
    paramGrads: paramNames.length ? paramNames.map((name) => ({ name: name.slice(PG.length), shape: dims(name) })) : null,
  };
  const expected = traceTensors(shape);
  if (names.length !== expected.length) bad(`${names.length} tensors where the metadata implies ${expected.length}`);
  const dataStart = 8 + n;
  for (const e of expected) {
    const t = own(h, e.name) as Record<string, unknown> | undefined;
    if (!t || typeof t !== 'object') bad(`no tensor "${e.name}"`);
    const offs = own(t, 'data_offsets');
    if (own(t, 'dtype') !== e.dtype || JSON.stringify(own(t, 'shape')) !== JSON.stringify(e.shape) || !Array.isArray(offs) || offs[0] !== e.begin || offs[1] !== e.end) {
      bad(`tensor "${e.name.slice(0, 80)}" is not ${e.dtype} ${JSON.stringify(e.shape)} at bytes [${e.begin}, ${e.end}) of the data`);
    }
  }
  const dataLength = expected.length ? expected[expected.length - 1]!.end : 0;
  if (bytes.length !== dataStart + dataLength) bad(`${bytes.length} bytes where the header implies ${dataStart + dataLength}`);
  if (T === 0 || k < 1 || k > vocab.length) bad(`${T} positions and top ${k} of ${vocab.length}`);
  if (text.length === 0) bad('the text is empty');

  const byName = new Map(expected.map((e) => [e.name, e]));
  // copies (aligned whatever the file's offsets), bit for bit
  const f32 = (name: string): Float32Array => {
    const e = byName.get(name)!;
    if (HOST_IS_LITTLE_ENDIAN) return new Float32Array(bytes.slice(dataStart + e.begin, dataStart + e.end).buffer);
    const out = new Float32Array((e.end - e.begin) / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(dataStart + e.begin + 4 * i, true);
    return out;
  };
  const i32 = (name: string): Int32Array => {
    const e = byName.get(name)!;
    if (HOST_IS_LITTLE_ENDIAN) return new Int32Array(bytes.slice(dataStart + e.begin, dataStart + e.end).buffer);
    const out = new Int32Array((e.end - e.begin) / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getInt32(dataStart + e.begin + 4 * i, true);
    return out;
  };
  const tokens = i32('tokens');
  const topIds = i32('top_ids');
  for (const a of [tokens, topIds]) if (a.some((id) => id < 0 || id >= vocab.length)) bad(`a token id outside the vocabulary of ${vocab.length}`);
  const all: (TraceFileLayer | null)[] = new Array(modelLayers).fill(null);
  for (const l of layers) {
    const q = (name: string): Float32Array => f32(`layers.${l}.${name}`);
    all[l] = {
      gates: Object.fromEntries(gates.map((g) => [g, q(g)])),
      c: shape.hasC ? q('c') : null,
      h: q('h'),
      gradH: q('grad_h'),
      gradC: shape.hasC ? q('grad_c') : null,
    };
  }
  return {
    shape,
    facts: { text, loss, range, lossAt, lossAtValue },
    metadata: m as Record<string, string>,
    tokens,
    predictions: { k, topIds, topProbs: f32('top_probs'), pNext: f32('p_next'), entropy: f32('entropy') },
    probs: shape.fullProbs ? f32('probs') : null,
    layers: all,
    saliency: shape.saliency ? f32('saliency') : null,
    paramGrads: shape.paramGrads ? new Map(shape.paramGrads.map((p) => [p.name, f32(`${PG}${p.name}`)])) : null,
  };
}

/** An own property only: nothing inherited (or polluted) from Object.prototype is trusted. */
function own(o: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}
