/**
 * What a torch.save file reads to: the pickled Python value tree, with each tensor decoded.
 *
 *   None → null, bool → boolean, int → number (bigint past ±2^53), float → number, str → string, bytes → Uint8Array,
 *   list and tuple → array, dict and OrderedDict → Map (insertion order kept), Tensor and Parameter → TorchTensor,
 *   a dtype (torch.float16) → its name ("torch.float16"), torch.Size → array.
 *
 * Values may be shared (a tensor or dict the pickle refers to twice appears twice, as one object), never cyclic.
 */

/** The tensor dtypes the reader decodes, named as safetensors names them. */
export type TorchDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/**
 * A tensor with its values made contiguous in row-major order (its storage offset and strides applied).
 * F32, F16 and BF16 convert to Float32Array exactly (bit for bit as PyTorch's .float() does, NaN payloads included);
 * F64 is rounded to the nearest float32. Integers keep their own type; BOOL is a Uint8Array of 0 and 1.
 */
export interface TorchTensor {
  readonly kind: 'tensor';
  readonly dtype: TorchDType;
  readonly shape: readonly number[];
  readonly data: Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
  /** True for a saved Parameter or a tensor saved with requires_grad. */
  readonly requiresGrad: boolean;
  /** The storage it views (its zip entry's key): tied weights share one. */
  readonly storageKey: string;
}

export type TorchDict = Map<string | number, TorchValue>;

export type TorchValue = null | boolean | number | bigint | string | Uint8Array | TorchValue[] | TorchDict | TorchTensor;

export function isTorchTensor(value: TorchValue | undefined): value is TorchTensor {
  return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'tensor';
}
