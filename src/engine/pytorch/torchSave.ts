/**
 * Reading `torch.save` files (PyTorch ≥ 1.6) without running anything from them.
 *
 * The file is a ZIP archive of stored entries under one directory `<dir>/` (the file's stem when it was saved):
 *   data.pkl    the pickled value (protocol 2 by default); each tensor is a REDUCE of torch._utils._rebuild_tensor_v2
 *               whose storage is a persistent id ('storage', torch.FloatStorage, key, location, numel)
 *   data/<key>  each storage's raw bytes, little-endian (or as `byteorder` says, when present)
 *   version     the format version; newer PyTorch adds .data/ entries, which are not needed here
 * The pickle runs in the restricted unpickler of pickle.ts, whose only globals are the allow-list below: what a
 * state_dict or training checkpoint needs, implemented here. Anything else is refused by name before it could run.
 */
import { badFile, damaged, quote, SAVE_WEIGHTS } from './fail';
import { DEFAULT_PICKLE_LIMITS, describe, PickleGlobal, PickleOpaque, unpickle } from './pickle';
import type { PickleEnv, PickleItem, PickleLimits } from './pickle';
import { DTYPE_SIZE, layoutNumel, materialise, MAX_DIMS } from './tensor';
import type { StorageBytes, TensorLayout } from './tensor';
import { isTorchTensor } from './values';
import type { TorchDType, TorchTensor, TorchValue } from './values';
import { looksLikeZip, ZipArchive } from './zip';

export interface ReadTorchSaveOptions {
  /** Bounds on the pickle; the defaults are {@link DEFAULT_PICKLE_LIMITS}. */
  readonly pickle?: Partial<PickleLimits>;
  /**
   * Elements of all tensors together, once made contiguous. Default: 2 per byte of the file plus 2^24 — room for
   * every storage read once and tied weights read again, while an expanded view (stride 0) cannot make a small file
   * claim gigabytes.
   */
  readonly maxElements?: number;
}

/** The storage classes a persistent id names, and the dtype of each. */
const STORAGE_DTYPES: ReadonlyMap<string, TorchDType> = new Map([
  ['FloatStorage', 'F32'], ['HalfStorage', 'F16'], ['BFloat16Storage', 'BF16'], ['DoubleStorage', 'F64'],
  ['LongStorage', 'I64'], ['IntStorage', 'I32'], ['ShortStorage', 'I16'], ['CharStorage', 'I8'],
  ['ByteStorage', 'U8'], ['BoolStorage', 'BOOL'],
] as const);

/** dtype globals (a checkpoint may hold `torch.float16` as a setting): read as the string "torch.float16". */
const DTYPE_NAMES = new Set([
  'float32', 'float', 'float16', 'half', 'bfloat16', 'float64', 'double', 'int64', 'long', 'int32', 'int', 'int16',
  'short', 'int8', 'uint8', 'bool', 'complex64', 'complex128',
]);

/** Modules whose globals are dangerous in any pickle: named as such, never taken for a model class. */
const SYSTEM_MODULES = new Set([
  'os', 'posix', 'nt', 'subprocess', 'builtins', '__builtin__', 'sys', 'shutil', 'socket', 'importlib', 'runpy',
  'pickle', '_pickle', 'code', 'codeop', 'pty', 'ctypes', 'functools', 'operator', 'types', 'webbrowser', 'io',
]);

/** The legacy format (`_use_new_zipfile_serialization=False`) starts with a pickle of this magic number. */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** A storage, handed to the pickle by BINPERSID; the rebuild functions read tensors from it. */
class Storage extends PickleOpaque implements StorageBytes {
  constructor(
    readonly key: string,
    readonly dtype: TorchDType,
    readonly numel: number,
    readonly bytes: Uint8Array,
    readonly className: string,
  ) {
    super();
  }

  get description(): string {
    return `a bare ${this.className}`;
  }
}

/** A storage class global: what a persistent id's second item names. */
class StorageClass extends PickleGlobal {
  constructor(name: string, readonly dtype: TorchDType) {
    super(`torch.${name}`);
  }
}

/** Reads a torch.save file: the pickled value with its tensors decoded. Throws a GatescopeError for anything else. */
export function readTorchSave(bytes: Uint8Array, options: ReadTorchSaveOptions = {}): TorchValue {
  if (!looksLikeZip(bytes)) throw notZip(bytes);
  const zip = new ZipArchive(bytes);
  const names = [...zip.entries.keys()];

  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length === 0) {
    if (names.some((n) => n.endsWith('data.pkl'))) throw damaged('its data.pkl is not in the archive\'s top directory');
    throw badFile(`This zip archive is not a torch.save file (it has no data.pkl); save the weights with ${SAVE_WEIGHTS}.`);
  }
  if (pickles.length > 1) throw damaged(`it has ${pickles.length} data.pkl files`);
  const dir = pickles[0]!.slice(0, -'data.pkl'.length);

  if (zip.entries.has(`${dir}constants.pkl`) || names.some((n) => n.startsWith(`${dir}code/`))) {
    throw badFile(
      `This is a TorchScript archive (torch.jit.save), which holds code as well as weights; Gatescope reads only weights: save them with ${SAVE_WEIGHTS} (a scripted module has a state_dict too).`,
    );
  }
  if (zip.entries.has(`${dir}byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${dir}byteorder`));
    if (order === 'big') {
      throw badFile(`This PyTorch file was saved on a big-endian machine; load it there and save it again with ${SAVE_WEIGHTS} in PyTorch 2.1 or later on a little-endian one, or convert it there with tensor.byteswap.`);
    }
    if (order !== 'little') throw damaged(`its byteorder entry says ${quote(order)}`);
  }

  const budget = { left: options.maxElements ?? 2 * bytes.length + 2 ** 24 };
  const env = torchEnv(zip, dir, budget);
  const limits = { ...DEFAULT_PICKLE_LIMITS, ...options.pickle };
  return unpickle(zip.read(`${dir}data.pkl`), env, limits);
}

function notZip(bytes: Uint8Array): Error {
  if (LEGACY_MAGIC.every((b, i) => bytes[i] === b) || isTar(bytes)) {
    return badFile('This is an old-format PyTorch file: re-save it with torch.save(torch.load(PATH), NEW_PATH) in PyTorch ≥ 1.6.');
  }
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! <= 5) {
    return badFile(`This is a plain pickle, not a torch.save file, and Gatescope runs no pickles; save the weights with ${SAVE_WEIGHTS}.`);
  }
  return badFile(`This is not a PyTorch torch.save file (it is not a zip archive); save the weights with ${SAVE_WEIGHTS}.`);
}

/** PyTorch before 0.4 wrote a tar archive ("ustar" at byte 257). */
function isTar(bytes: Uint8Array): boolean {
  return bytes.length > 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar';
}

/** The allow-list and the storages of one file. */
function torchEnv(zip: ZipArchive, dir: string, budget: { left: number }): PickleEnv {
  const storages = new Map<string, Storage>();

  const rebuildTensor = (name: string, args: readonly PickleItem[], min: number, max: number): TorchTensor => {
    if (args.length < min || args.length > max) throw damaged(`${name} gets ${args.length} arguments`);
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof Storage)) throw damaged(`${name} gets ${describe(storage!)} instead of a storage`);
    const layout: TensorLayout = {
      offset: count(offset!, 'storage offset'),
      shape: dims(size!, 'size'),
      stride: dims(stride!, 'stride'),
    };
    if (layout.shape.length !== layout.stride.length) throw damaged(`a tensor has ${layout.shape.length} sizes but ${layout.stride.length} strides`);
    const n = layoutNumel(layout);
    if (n === undefined || n > budget.left) {
      throw badFile(`This PyTorch file's tensors hold more elements than the file could (it is corrupt or crafted), or more than Gatescope reads at once; save the weights alone with ${SAVE_WEIGHTS}.`);
    }
    budget.left -= n;
    const requiresGrad = args.length > 4 ? args[4] === true : false;
    return materialise(storage, layout, requiresGrad);
  };

  const parameter = (name: string, args: readonly PickleItem[], min: number, max: number): TorchTensor => {
    if (args.length < min || args.length > max) throw damaged(`${name} gets ${args.length} arguments`);
    const data = args[0]!;
    if (!isTorchTensor(data as TorchValue)) throw damaged(`${name} gets ${describe(data)} instead of a tensor`);
    return { ...(data as TorchTensor), requiresGrad: args.length > 1 ? args[1] === true : true };
  };

  const v2 = new PickleGlobal('torch._utils._rebuild_tensor_v2', (a) => rebuildTensor('_rebuild_tensor_v2', a, 6, 7));
  const v1 = new PickleGlobal('torch._utils._rebuild_tensor', (a) => rebuildTensor('_rebuild_tensor', a, 4, 4));
  const param = new PickleGlobal('torch._utils._rebuild_parameter', (a) => parameter('_rebuild_parameter', a, 3, 3));
  const paramState = new PickleGlobal('torch._utils._rebuild_parameter_with_state', (a) => parameter('_rebuild_parameter_with_state', a, 4, 4));
  const tensorType = new PickleGlobal('torch.Tensor');
  const parameterType = new PickleGlobal('torch.nn.parameter.Parameter', undefined, (a) => parameter('Parameter', a, 1, 2));
  // a tensor or Parameter with Python attributes: _rebuild_from_type_v2(func, type, args, state); the attributes go
  const fromType = new PickleGlobal('torch._tensor._rebuild_from_type_v2', (a) => {
    const [func, type, args] = a;
    if (a.length !== 4 || !(func === v2 || func === v1 || func === param || func === paramState) || !(type === tensorType || type === parameterType) || !Array.isArray(args)) {
      throw damaged('_rebuild_from_type_v2 gets arguments no tensor has');
    }
    const tensor = func.call!(args);
    return type === parameterType ? { ...(tensor as TorchTensor), requiresGrad: true } : tensor;
  });
  const orderedDict = (a: readonly PickleItem[]): PickleItem => {
    if (a.length !== 0) throw damaged('OrderedDict gets arguments');
    return new Map();
  };
  const globals = new Map<string, PickleItem>([
    [v2.name, v2], [v1.name, v1], [param.name, param], [paramState.name, paramState], [fromType.name, fromType],
    [tensorType.name, tensorType], [parameterType.name, parameterType],
    ['collections.OrderedDict', new PickleGlobal('collections.OrderedDict', orderedDict, orderedDict)],
    // torch.Size((2, 3)) is the tuple (2, 3)
    ['torch.Size', new PickleGlobal('torch.Size', (a) => {
      if (a.length !== 1 || !Array.isArray(a[0])) throw damaged('torch.Size gets something other than a tuple');
      return a[0];
    })],
    // protocol 2 pickles Python 3 bytes as _codecs.encode(text, 'latin1'), one character per byte; b'' as bytes()
    ['_codecs.encode', new PickleGlobal('_codecs.encode', latin1Bytes)],
    ['__builtin__.bytes', new PickleGlobal('__builtin__.bytes', emptyBytes)],
    ['builtins.bytes', new PickleGlobal('builtins.bytes', emptyBytes)],
  ]);
  for (const [name, dtype] of STORAGE_DTYPES) globals.set(`torch.${name}`, new StorageClass(name, dtype));
  for (const name of DTYPE_NAMES) globals.set(`torch.${name}`, `torch.${name}`);

  return {
    resolveGlobal(module, name) {
      const found = globals.get(`${module}.${name}`);
      if (found === undefined) throw refuseGlobal(module, name);
      return found;
    },

    // ('storage', storage class, key, location, numel): the storage's bytes are the entry data/<key>
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') throw damaged(`its pickle loads ${describe(pid)} as a storage`);
      const [, cls, key, location, numel] = pid as PickleItem[];
      if (!(cls instanceof StorageClass)) throw damaged(`a storage has the type ${describe(cls!)}`);
      if (typeof key !== 'string' || typeof location !== 'string') throw damaged('a storage has no key');
      const n = count(numel!, 'storage size');
      const known = storages.get(key);
      if (known !== undefined) {
        if (known.dtype !== cls.dtype || known.numel !== n) throw damaged(`storage ${key} is used with two different types or sizes`);
        return known;
      }
      const data = zip.read(`${dir}data/${key}`);
      if (data.length !== n * DTYPE_SIZE[cls.dtype]) {
        throw damaged(`storage ${key} holds ${data.length} bytes, not the ${n} × ${DTYPE_SIZE[cls.dtype]} its tensor needs`);
      }
      const storage = new Storage(key, cls.dtype, n, data, cls.name.slice('torch.'.length));
      storages.set(key, storage);
      return storage;
    },
  };
}

/** Why a global was refused: a pickled class (a whole model) gets the fix, anything else is named as it is. */
function refuseGlobal(module: string, name: string): Error {
  const full = `${module}.${name}`;
  const root = module.split('.')[0]!;
  const isClass = module === '__main__' || module.startsWith('torch.nn.') || module.startsWith('torch.optim.') || (/^[A-Z]/.test(name) && !SYSTEM_MODULES.has(root));
  if (isClass) {
    return badFile(
      `This PyTorch file is a whole pickled object of class ${quote(full)}, not a state_dict, and Gatescope never runs code from a file (nothing from it was run): save the weights instead: ${SAVE_WEIGHTS}.`,
    );
  }
  return badFile(`This PyTorch file refers to ${quote(full)}, which a state_dict never needs; nothing from the file was run, and Gatescope will not read it.`);
}

function latin1Bytes(args: readonly PickleItem[]): PickleItem {
  const [text, encoding] = args;
  if (args.length !== 2 || typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    throw badFile(`This PyTorch file calls _codecs.encode in a way a state_dict never does; nothing from the file was run, and it can be read once saved with ${SAVE_WEIGHTS}.`);
  }
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw damaged('its pickle encodes bytes that are not latin-1');
    out[i] = c;
  }
  return out;
}

function emptyBytes(args: readonly PickleItem[]): PickleItem {
  if (args.length !== 0) throw badFile(`This PyTorch file calls bytes() in a way a state_dict never does; nothing from the file was run, and it can be read once saved with ${SAVE_WEIGHTS}.`);
  return new Uint8Array(0);
}

/** A non-negative integer from the pickle (a size, offset or count). */
function count(item: PickleItem, what: string): number {
  if (typeof item !== 'number' || !Number.isSafeInteger(item) || item < 0) throw damaged(`a tensor's ${what} is ${describe(item)}`);
  return item;
}

function dims(item: PickleItem, what: string): number[] {
  if (!Array.isArray(item)) throw damaged(`a tensor's ${what} is ${describe(item)}`);
  if (item.length > MAX_DIMS) throw damaged(`a tensor has ${item.length} dimensions, more than PyTorch's ${MAX_DIMS}`);
  return item.map((v) => count(v, what));
}
