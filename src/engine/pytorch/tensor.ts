/**
 * Tensors from storages: `_rebuild_tensor_v2(storage, storage_offset, size, stride, …)` says that element
 * (i_0, …, i_{d−1}) of the tensor is element storage_offset + Σ_k i_k·stride_k of the storage. Materialising gathers
 * those into a new contiguous row-major array, converting as PyTorch's `.float()` does (F16, BF16 exactly, NaN
 * payloads included; F64 rounded to nearest even). Every index is checked to lie inside the storage first.
 *
 * Legend: d dims, N = Π size_k elements of the tensor, S elements of the storage.
 */
import { badFile, damaged, SAVE_WEIGHTS } from './fail';
import type { TorchDType, TorchTensor } from './values';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<TorchDType, number>> = {
  F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** PyTorch has at most 64 dimensions. */
export const MAX_DIMS = 64;

/** A storage: S elements of one dtype, as raw little-endian bytes (a view into the file). */
export interface StorageBytes {
  readonly key: string;
  readonly dtype: TorchDType;
  /** S */
  readonly numel: number;
  readonly bytes: Uint8Array;
}

/** Where a tensor lies in its storage, as the pickle says; checked by {@link materialise}. */
export interface TensorLayout {
  readonly offset: number;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
}

/** The number of elements a layout has (N), for budgets; `undefined` when it is not a valid layout at all. */
export function layoutNumel(layout: TensorLayout): number | undefined {
  let n = 1;
  for (const s of layout.shape) {
    n *= s;
    if (!Number.isSafeInteger(n)) return undefined;
  }
  return n;
}

/** The tensor a layout selects from a storage, its values gathered contiguous. */
export function materialise(storage: StorageBytes, layout: TensorLayout, requiresGrad: boolean): TorchTensor {
  const { offset, shape, stride } = layout;
  const d = shape.length;
  const n = layoutNumel(layout);
  if (n === undefined) throw damaged(`a tensor of storage ${storage.key} claims more elements than any computer holds`);
  // the last element reached is offset + Σ (size_k − 1)·stride_k (strides are never negative in PyTorch)
  if (n > 0) {
    let last = offset;
    for (let k = 0; k < d; k++) last += (shape[k]! - 1) * stride[k]!;
    if (!(last < storage.numel)) {
      throw damaged(`a tensor reaches element ${last} of storage ${storage.key}, which has ${storage.numel} elements`);
    }
  }
  let data: Data;
  try {
    data = allocate(storage.dtype, n);
  } catch {
    throw badFile(`A tensor of this PyTorch file has ${n} elements, more than this computer can allocate at once; save a smaller model with ${SAVE_WEIGHTS}.`);
  }
  const copy = COPIERS[storage.dtype];
  const src = new DataView(storage.bytes.buffer, storage.bytes.byteOffset, storage.bytes.byteLength);
  if (n > 0) {
    // runs along the last dimension; a contiguous tensor (a 0-d one included) is one run of N
    const contiguous = isContiguous(shape, stride);
    const runLength = contiguous ? n : shape[d - 1]!;
    const runStride = contiguous ? 1 : stride[d - 1]!;
    const index = new Array<number>(Math.max(d - 1, 0)).fill(0); // odometer over the outer d − 1 dims
    let start = offset;
    for (let out = 0; out < n; out += runLength) {
      copy(data, out, src, start, runStride, runLength);
      if (contiguous) break;
      // next outer index: carry like an odometer, moving `start` by the strides
      for (let k = d - 2; k >= 0; k--) {
        index[k]!++;
        start += stride[k]!;
        if (index[k]! < shape[k]!) break;
        start -= index[k]! * stride[k]!;
        index[k] = 0;
      }
    }
  }
  return { kind: 'tensor', dtype: storage.dtype, shape: [...shape], data, requiresGrad, storageKey: storage.key };
}

/** Row-major contiguous: each stride the product of the sizes after it (dims of size 1 may have any stride). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let k = shape.length - 1; k >= 0; k--) {
    if (shape[k] !== 1 && stride[k] !== expected) return false;
    expected *= shape[k]!;
  }
  return true;
}

type Data = TorchTensor['data'];

function allocate(dtype: TorchDType, n: number): Data {
  switch (dtype) {
    case 'F32':
    case 'F16':
    case 'BF16':
    case 'F64':
      return new Float32Array(n);
    case 'I64':
      return new BigInt64Array(n);
    case 'I32':
      return new Int32Array(n);
    case 'I16':
      return new Int16Array(n);
    case 'I8':
      return new Int8Array(n);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(n);
  }
}

/** Copies `count` elements, storage elements first, first + step, …, into `out` from index `at`. */
type Copier = (out: Data, at: number, src: DataView, first: number, step: number, count: number) => void;

/** float32 bit patterns through a Uint32Array view, so NaN payloads survive (a JavaScript number may not keep them). */
function bitsOf(out: Data): Uint32Array {
  return new Uint32Array(out.buffer, out.byteOffset, out.length);
}

/** Typed-array views read host byte order; storages are little-endian, so only little-endian hosts copy in bulk. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const COPIERS: Readonly<Record<TorchDType, Copier>> = {
  F32: (out, at, src, first, step, count) => {
    const bits = bitsOf(out);
    const byte = src.byteOffset + 4 * first;
    if (step === 1 && HOST_IS_LITTLE_ENDIAN && byte % 4 === 0) {
      // PyTorch aligns storages to 64 bytes in the file: a contiguous float32 tensor is one bulk copy
      bits.set(new Uint32Array(src.buffer, byte, count), at);
      return;
    }
    for (let i = 0, e = first; i < count; i++, e += step) bits[at + i] = src.getUint32(4 * e, true);
  },
  F16: (out, at, src, first, step, count) => {
    const bits = bitsOf(out);
    const table = halfTable();
    for (let i = 0, e = first; i < count; i++, e += step) bits[at + i] = table[src.getUint16(2 * e, true)]!;
  },
  BF16: (out, at, src, first, step, count) => {
    // bfloat16 is the top half of a float32
    const bits = bitsOf(out);
    for (let i = 0, e = first; i < count; i++, e += step) bits[at + i] = src.getUint16(2 * e, true) << 16;
  },
  F64: (out, at, src, first, step, count) => {
    const f = out as Float32Array; // assigning to a Float32Array rounds to nearest, ties to even
    for (let i = 0, e = first; i < count; i++, e += step) f[at + i] = src.getFloat64(8 * e, true);
  },
  I64: (out, at, src, first, step, count) => {
    const v = out as BigInt64Array;
    for (let i = 0, e = first; i < count; i++, e += step) v[at + i] = src.getBigInt64(8 * e, true);
  },
  I32: (out, at, src, first, step, count) => {
    const v = out as Int32Array;
    for (let i = 0, e = first; i < count; i++, e += step) v[at + i] = src.getInt32(4 * e, true);
  },
  I16: (out, at, src, first, step, count) => {
    const v = out as Int16Array;
    for (let i = 0, e = first; i < count; i++, e += step) v[at + i] = src.getInt16(2 * e, true);
  },
  I8: (out, at, src, first, step, count) => {
    const v = out as Int8Array;
    for (let i = 0, e = first; i < count; i++, e += step) v[at + i] = src.getInt8(e);
  },
  U8: (out, at, src, first, step, count) => {
    const v = out as Uint8Array;
    for (let i = 0, e = first; i < count; i++, e += step) v[at + i] = src.getUint8(e);
  },
  BOOL: (out, at, src, first, step, count) => {
    const v = out as Uint8Array;
    for (let i = 0, e = first; i < count; i++, e += step) v[at + i] = src.getUint8(e) === 0 ? 0 : 1;
  },
};

let HALF_TABLE: Uint32Array | undefined;

/**
 * float16 → float32 bit patterns for all 65,536 halves (IEEE 754 binary16: 1 sign, 5 exponent bits biased by 15,
 * 10 mantissa bits). Normal numbers re-bias the exponent by 127 − 15 = 112; subnormals m·2^−24 are normalised;
 * NaNs keep their payload and come out quiet, as PyTorch's (and x86's F16C) conversion does.
 */
function halfTable(): Uint32Array {
  if (HALF_TABLE !== undefined) return HALF_TABLE;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    let mant = h & 0x3ff;
    let bits: number;
    if (exp === 0x1f) {
      bits = mant === 0 ? 0x7f800000 : 0x7fc00000 | (mant << 13);
    } else if (exp !== 0) {
      bits = ((exp + 112) << 23) | (mant << 13);
    } else if (mant === 0) {
      bits = 0;
    } else {
      let e = 113; // 2^−14 is float32 exponent 113; shift the mantissa up until its leading bit is the implicit one
      while ((mant & 0x400) === 0) {
        mant <<= 1;
        e--;
      }
      bits = (e << 23) | ((mant & 0x3ff) << 13);
    }
    table[h] = (sign | bits) >>> 0;
  }
  HALF_TABLE = table;
  return table;
}
