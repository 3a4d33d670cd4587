/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian u64 header length N, N bytes of UTF-8 JSON describing the tensors, then the raw
 * tensor bytes. The header is untrusted input: it is only ever handed to `JSON.parse`, and every field is
 * checked before it is used to index the file.
 */
import { GatescopeError } from './errors';
import { parseUntrustedJson } from './json';

/** Every dtype the safetensors specification defines. */
export type SafetensorsDType =
  | 'BOOL'
  | 'F4'
  | 'F6_E2M3'
  | 'F6_E3M2'
  | 'U8'
  | 'I8'
  | 'F8_E5M2'
  | 'F8_E4M3'
  | 'F8_E8M0'
  | 'I16'
  | 'U16'
  | 'F16'
  | 'BF16'
  | 'I32'
  | 'U32'
  | 'F32'
  | 'C64'
  | 'F64'
  | 'I64'
  | 'U64';

/** Size of one element in bits; sub-byte dtypes exist, so bytes would not be enough. */
const DTYPE_BITS: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 8,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  C64: 64,
  F64: 64,
  I64: 64,
  U64: 64,
};

/** One tensor of a parsed file. */
export interface TensorEntry {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** A view into the file holding exactly this tensor's bytes (not copied, possibly unaligned). */
  readonly bytes: Uint8Array;
}

/** A parsed safetensors file; `tensors` iterates in the order the tensors appear in the data section. */
export interface SafetensorsFile {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
}

/** A tensor to serialize: Float32Array is written as F32, Int32Array as I32, Float64Array as F64. */
export interface TensorToWrite {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | Float64Array;
}

/** Options for {@link parseSafetensors}. */
export interface ParseSafetensorsOptions {
  /** Largest header accepted, in bytes; guards against allocating for a hostile length. Default 100 MiB. */
  readonly maxHeaderBytes?: number;
}

const DEFAULT_MAX_HEADER_BYTES = 100 * 1024 * 1024;
const METADATA_KEY = '__metadata__';
const RESAVE_HINT = 're-save it with safetensors.torch.save_file (or train it again with Gatescope)';

/** Typed-array views use host byte order; safetensors is little-endian, so big-endian hosts take the slow path. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** True when `dtype` is one of the dtypes the safetensors specification defines. */
export function isSafetensorsDType(dtype: string): dtype is SafetensorsDType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, dtype);
}

function fail(message: string): never {
  throw new GatescopeError(message, 'bad-model-file');
}

/** Quotes a name from the file for an error message, shortened because a corrupt file may hold anything. */
function q(name: string): string {
  const short = name.length > 80 ? `${name.slice(0, 80)}…` : name;
  return JSON.stringify(short);
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${q(value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Reads an own property only, so nothing inherited (or polluted) from Object.prototype is ever trusted. */
function own(obj: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** Parses and validates a safetensors file; never evaluates anything from the file. */
/** The length prefix and the header JSON of a safetensors file, from its first bytes (at least 8 + the header's). */
function readHeader(bytes: Uint8Array, options?: ParseSafetensorsOptions): { headerLength: number; header: Record<string, unknown> } {
  const maxHeaderBytes = options?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (!isNonNegativeSafeInteger(maxHeaderBytes)) {
    throw new GatescopeError(`maxHeaderBytes must be a non-negative integer, got ${String(maxHeaderBytes)}.`, 'invalid-input');
  }
  if (bytes.length < 8) {
    fail(`This is not a safetensors file: ${bytes.length} bytes, shorter than the 8-byte header length.`);
  }

  // A u64 can exceed Number.MAX_SAFE_INTEGER, so compare as BigInt before converting.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength64 = view.getBigUint64(0, true);
  if (headerLength64 > BigInt(maxHeaderBytes)) {
    fail(
      `The safetensors header length is ${headerLength64} bytes, more than the ${maxHeaderBytes}-byte limit; ` +
        'the file is corrupt or not a safetensors file.',
    );
  }
  const headerLength = Number(headerLength64);
  if (headerLength > bytes.length - 8) {
    fail(
      `The safetensors header claims ${headerLength} bytes but only ${bytes.length - 8} follow the length prefix; ` +
        'the file is truncated or not a safetensors file.',
    );
  }

  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('The safetensors header is not valid UTF-8; the file is corrupt or not a safetensors file.');
  }
  let header: unknown;
  try {
    // a header is an object of tensor entries ({dtype, shape: [...], data_offsets: [begin, end]}) and a metadata
    // object of strings: three levels; PyTorch tensors have at most 64 dimensions
    header = parseUntrustedJson(headerText, { maxDepth: 3, maxArrayLength: 64, maxKeys: 1_000_000, maxStringLength: maxHeaderBytes },
      (reason) => fail(`The safetensors header ${reason}, which no safetensors file has; the file is corrupt or not a safetensors file.`));
  } catch (e) {
    if (e instanceof GatescopeError) throw e;
    fail('The safetensors header is not valid JSON; the file is corrupt, truncated or not a safetensors file.');
  }
  if (!isPlainObject(header)) {
    fail(`The safetensors header is ${describeValue(header)} instead of a JSON object; the file is corrupt or not a safetensors file.`);
  }
  return { headerLength, header };
}

export function parseSafetensors(bytes: Uint8Array, options?: ParseSafetensorsOptions): SafetensorsFile {
  const { headerLength, header } = readHeader(bytes, options);
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata = parseMetadata(own(header, METADATA_KEY));

  interface Located {
    readonly name: string;
    readonly begin: number;
    readonly end: number;
    readonly entry: TensorEntry;
  }
  const located: Located[] = [];
  for (const name of Object.keys(header)) {
    if (name === METADATA_KEY) continue;
    const { dtype, shape, begin, end } = parseTensorInfo(name, header[name]);
    if (end > dataLength) {
      fail(
        `Tensor ${q(name)} has data_offsets [${begin}, ${end}] outside the ${dataLength}-byte data section; ` +
          'the file is truncated or corrupt.',
      );
    }
    const entry: TensorEntry = Object.freeze({
      dtype,
      shape: Object.freeze(shape),
      bytes: bytes.subarray(dataStart + begin, dataStart + end),
    });
    located.push({ name, begin, end, entry });
  }

  // Sorting by begin means any overlap shows up against the earlier tensor reaching furthest; gaps are
  // tolerated because some writers leave them. Zero-byte tensors cannot overlap anything.
  located.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let furthest: Located | undefined;
  for (const t of located) {
    if (t.begin === t.end) continue;
    if (furthest !== undefined && t.begin < furthest.end) {
      fail(
        `Tensors ${q(furthest.name)} (bytes ${furthest.begin}–${furthest.end}) and ${q(t.name)} ` +
          `(bytes ${t.begin}–${t.end}) overlap; the file is corrupt, ${RESAVE_HINT}.`,
      );
    }
    if (furthest === undefined || t.end > furthest.end) furthest = t;
  }

  const tensors = new Map<string, TensorEntry>();
  for (const t of located) tensors.set(t.name, t.entry);
  return Object.freeze({ metadata, tensors });
}

/** How many bytes of a file's start parseSafetensorsHeader needs: the 8-byte length and the header it gives. */
export function safetensorsHeaderBytes(first8: Uint8Array, options?: ParseSafetensorsOptions): number {
  if (first8.length < 8) fail(`This is not a safetensors file: ${first8.length} bytes, shorter than the 8-byte header length.`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  const max = BigInt(options?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES);
  if (n > max) fail(`The safetensors header length is ${n} bytes, more than the ${max}-byte limit; the file is corrupt or not a safetensors file.`);
  return 8 + Number(n);
}

/** A safetensors file's header alone: names, dtypes and shapes of its tensors, and its metadata. */
export interface SafetensorsHeader {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, { readonly dtype: SafetensorsDType; readonly shape: readonly number[] }>;
}

/**
 * The header of a safetensors file of `fileSize` bytes from its first bytes (safetensorsHeaderBytes of them), checked
 * as parseSafetensors checks it, the data offsets against the file's size: what a view that describes a model
 * needs without reading its weights.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number, options?: ParseSafetensorsOptions): SafetensorsHeader {
  const { headerLength, header } = readHeader(prefix, options);
  const dataLength = fileSize - 8 - headerLength;
  const metadata = parseMetadata(own(header, METADATA_KEY));
  const tensors = new Map<string, { dtype: SafetensorsDType; shape: readonly number[] }>();
  for (const name of Object.keys(header)) {
    if (name === METADATA_KEY) continue;
    const { dtype, shape, end } = parseTensorInfo(name, header[name]);
    if (end > dataLength) fail(`Tensor ${q(name)} ends at byte ${end} of a ${dataLength}-byte data section; the file is truncated or corrupt.`);
    tensors.set(name, Object.freeze({ dtype, shape: Object.freeze(shape) }));
  }
  return Object.freeze({ metadata, tensors });
}

function parseMetadata(raw: unknown): Readonly<Record<string, string>> {
  // A null-prototype object, filled with defineProperty, so a key like "__proto__" stays an ordinary key.
  const metadata = Object.create(null) as Record<string, string>;
  // serde (the reference implementation) reads a null "__metadata__" as absent.
  if (raw === undefined || raw === null) return Object.freeze(metadata);
  if (!isPlainObject(raw)) {
    fail(`The safetensors "__metadata__" is ${describeValue(raw)} instead of an object of strings; the file is corrupt, ${RESAVE_HINT}.`);
  }
  for (const key of Object.keys(raw)) {
    const value = raw[key];
    if (typeof value !== 'string') {
      fail(`The safetensors "__metadata__" value for key ${q(key)} is ${describeValue(value)}, not a string; ${RESAVE_HINT}.`);
    }
    Object.defineProperty(metadata, key, { value, enumerable: true, writable: false, configurable: false });
  }
  return Object.freeze(metadata);
}

function parseTensorInfo(
  name: string,
  raw: unknown,
): { dtype: SafetensorsDType; shape: number[]; begin: number; end: number } {
  if (!isPlainObject(raw)) {
    fail(`Tensor ${q(name)} is described by ${describeValue(raw)} instead of an object with dtype, shape and data_offsets; the file is corrupt.`);
  }
  const dtype = own(raw, 'dtype');
  const shape = own(raw, 'shape');
  const offsets = own(raw, 'data_offsets');
  for (const [field, value] of [['dtype', dtype], ['shape', shape], ['data_offsets', offsets]] as const) {
    if (value === undefined) fail(`Tensor ${q(name)} has no "${field}" in the safetensors header; the file is corrupt, ${RESAVE_HINT}.`);
  }

  if (typeof dtype !== 'string') fail(`Tensor ${q(name)} has dtype ${describeValue(dtype)} instead of a string such as "F32"; the file is corrupt.`);
  if (!isSafetensorsDType(dtype)) {
    fail(`Tensor ${q(name)} has unknown dtype ${q(dtype)}; expected a safetensors dtype such as "F32", "F16" or "BF16".`);
  }

  if (!Array.isArray(shape) || !shape.every(isNonNegativeSafeInteger)) {
    fail(`Tensor ${q(name)} has shape ${shapeText(shape)}, which is not an array of non-negative integers; the file is corrupt.`);
  }

  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeSafeInteger)) {
    fail(`Tensor ${q(name)} has data_offsets ${shapeText(offsets)} instead of two non-negative integers [begin, end]; the file is corrupt.`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`Tensor ${q(name)} has data_offsets [${begin}, ${end}] with begin after end; the file is corrupt.`);

  // BigInt because the product of a hostile shape can exceed 2^53.
  let elements = 1n;
  for (const d of shape as number[]) elements *= BigInt(d);
  const bits = elements * BigInt(DTYPE_BITS[dtype]);
  const actual = end - begin;
  if (bits % 8n !== 0n) {
    fail(`Tensor ${q(name)} with shape ${shapeText(shape)} and dtype ${dtype} takes ${bits} bits, not a whole number of bytes; the file is corrupt.`);
  }
  if (bits / 8n !== BigInt(actual)) {
    fail(
      `Tensor ${q(name)} with shape ${shapeText(shape)} and dtype ${dtype} should take ${bits / 8n} bytes ` +
        `but its data_offsets span ${actual}; the file is corrupt, ${RESAVE_HINT}.`,
    );
  }
  return { dtype, shape: [...(shape as number[])], begin, end };
}

function shapeText(value: unknown): string {
  if (!Array.isArray(value)) return describeValue(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function elementCount(name: string, t: TensorEntry, bytesPerElement: number): number {
  let n = 1;
  for (const d of t.shape) n *= d;
  if (t.bytes.length !== n * bytesPerElement) {
    fail(
      `Tensor ${q(name)} with shape ${shapeText(t.shape)} and dtype ${t.dtype} should take ${n * bytesPerElement} bytes ` +
        `but has ${t.bytes.length}.`,
    );
  }
  return n;
}

function refuseDType(name: string, t: TensorEntry): never {
  fail(
    `Tensor ${q(name)} has dtype ${q(t.dtype)}, which cannot be read as floating-point weights; ` +
      're-save it as F32 (F64, F16 and BF16 are also accepted).',
  );
}

/** Copies the bytes to a fresh, aligned buffer so a typed array can view them whatever the source offset. */
function alignedCopy(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

/** Exact value of an IEEE half-precision number (every half is representable in float32 and float64). */
function halfToNumber(h: number): number {
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  let magnitude: number;
  if (exponent === 0) magnitude = mantissa * 2 ** -24;
  else if (exponent === 0x1f) magnitude = mantissa === 0 ? Infinity : NaN;
  else magnitude = (1024 + mantissa) * 2 ** (exponent - 25);
  return h & 0x8000 ? -magnitude : magnitude;
}

/**
 * Decodes a floating-point tensor to a fresh, aligned Float32Array. F32 is copied bit for bit (also from an
 * unaligned view), F16 and BF16 exactly, F64 rounded (values beyond float32 range are refused, naming the
 * tensor). Integer, bool and other dtypes are refused with a message naming the tensor and its dtype.
 * With `asView`, an aligned little-endian F32 tensor is returned as a view of the file's bytes instead of a copy, for a
 * caller that copies it where it goes (a model's parameters): a 13.7-million-parameter model with its Adam moments
 * decoded in 0.52 s with a fresh copy of each tensor (first-touch page faults, mostly), in less without.
 */
export function tensorToFloat32(name: string, t: TensorEntry, asView = false): Float32Array {
  switch (t.dtype) {
    case 'F32': {
      const n = elementCount(name, t, 4);
      if (HOST_IS_LITTLE_ENDIAN && asView && t.bytes.byteOffset % 4 === 0) return new Float32Array(t.bytes.buffer, t.bytes.byteOffset, n);
      if (HOST_IS_LITTLE_ENDIAN) return new Float32Array(alignedCopy(t.bytes));
      const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32, so shifting the bits is exact, NaN payloads included.
      const n = elementCount(name, t, 2);
      const bits = new Uint32Array(n);
      const b = t.bytes;
      for (let i = 0; i < n; i++) bits[i] = ((b[2 * i] | (b[2 * i + 1] << 8)) << 16) >>> 0;
      return new Float32Array(bits.buffer);
    }
    case 'F16': {
      const n = elementCount(name, t, 2);
      const out = new Float32Array(n);
      const b = t.bytes;
      for (let i = 0; i < n; i++) out[i] = halfToNumber(b[2 * i] | (b[2 * i + 1] << 8));
      return out;
    }
    case 'F64': {
      const n = elementCount(name, t, 8);
      const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getFloat64(8 * i, true);
        const f = Math.fround(v);
        if (Number.isFinite(v) && !Number.isFinite(f)) {
          fail(
            `Tensor ${q(name)} (F64) holds ${v} at index ${i}, outside the float32 range; ` +
              'rescale it or re-save the tensor as F32.',
          );
        }
        out[i] = f;
      }
      return out;
    }
    default:
      return refuseDType(name, t);
  }
}

/**
 * Decodes a floating-point tensor to a fresh Float64Array, exactly for F32, F16, BF16 and F64 (used by
 * float64 gradient checks). Other dtypes are refused as by {@link tensorToFloat32}.
 */
export function tensorToFloat64(name: string, t: TensorEntry): Float64Array {
  switch (t.dtype) {
    case 'F64': {
      const n = elementCount(name, t, 8);
      if (HOST_IS_LITTLE_ENDIAN) return new Float64Array(alignedCopy(t.bytes));
      const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F32':
    case 'F16':
    case 'BF16':
      return Float64Array.from(tensorToFloat32(name, t));
    default:
      return refuseDType(name, t);
  }
}

function invalid(message: string): never {
  throw new GatescopeError(message, 'invalid-input');
}

function dtypeOf(data: TensorToWrite['data']): { dtype: SafetensorsDType; size: number } {
  if (data instanceof Float32Array) return { dtype: 'F32', size: 4 };
  if (data instanceof Float64Array) return { dtype: 'F64', size: 8 };
  if (data instanceof Int32Array) return { dtype: 'I32', size: 4 };
  return invalid('Tensor data to save must be a Float32Array, Float64Array or Int32Array.');
}

/**
 * Serializes tensors to a safetensors file, laid out contiguously in the given order (no gaps, which strict
 * readers reject). The header is padded with spaces so the data section starts 8-byte aligned. Caller
 * mistakes (duplicate names, shape not matching the data, non-string metadata) throw 'invalid-input'.
 */
export function serializeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  // The header is assembled as text rather than JSON.stringify of an object, so that a tensor named
  // "__proto__" cannot touch a prototype and the key order is exactly the layout order.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata);
    const fields: string[] = [];
    for (const key of keys) {
      const value: unknown = metadata[key];
      if (typeof value !== 'string') invalid(`Metadata value for key ${q(key)} must be a string, got ${describeValue(value)}.`);
      fields.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
    }
    if (fields.length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:{${fields.join(',')}}`);
  }

  const seen = new Set<string>();
  const layout: { bytes: Uint8Array; data: TensorToWrite['data']; begin: number }[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (typeof t.name !== 'string') invalid(`Tensor names must be strings, got ${describeValue(t.name)}.`);
    if (t.name === METADATA_KEY) invalid(`A tensor cannot be named "${METADATA_KEY}", which safetensors reserves for metadata.`);
    if (seen.has(t.name)) invalid(`Two tensors are named ${q(t.name)}; tensor names in a safetensors file must be unique.`);
    seen.add(t.name);
    if (!Array.isArray(t.shape) || !t.shape.every(isNonNegativeSafeInteger)) {
      invalid(`Tensor ${q(t.name)} has shape ${shapeText(t.shape)}, which is not an array of non-negative integers.`);
    }
    const { dtype, size } = dtypeOf(t.data);
    const elements = t.shape.reduce((a, d) => a * d, 1);
    if (elements !== t.data.length) {
      invalid(`Tensor ${q(t.name)} has shape ${shapeText(t.shape)} (${elements} elements) but ${t.data.length} values.`);
    }
    const byteLength = elements * size;
    parts.push(
      `${JSON.stringify(t.name)}:{"dtype":"${dtype}","shape":${JSON.stringify(t.shape)},"data_offsets":[${offset},${offset + byteLength}]}`,
    );
    layout.push({ bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, byteLength), data: t.data, begin: offset });
    offset += byteLength;
  }

  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = json.length + ((8 - ((8 + json.length) % 8)) % 8);
  const dataStart = 8 + headerLength;
  const out = new Uint8Array(dataStart + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, dataStart);
  for (const { bytes, data, begin } of layout) {
    if (HOST_IS_LITTLE_ENDIAN) {
      out.set(bytes, dataStart + begin);
    } else {
      const at = dataStart + begin;
      for (let i = 0; i < data.length; i++) {
        if (data instanceof Float32Array) view.setFloat32(at + 4 * i, data[i], true);
        else if (data instanceof Float64Array) view.setFloat64(at + 8 * i, data[i], true);
        else view.setInt32(at + 4 * i, data[i], true);
      }
    }
  }
  return out;
}
