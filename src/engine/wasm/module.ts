import { MAX_PAGES, type WasmMemory } from './heap';
import { RELAXED_SIMD_WASM, SIMD_WASM } from './kernels.generated';

/**
 * Compiling and instantiating the kernel module. The bytes are embedded (kernels.generated.ts) and compiled
 * synchronously, which Node and workers allow for modules of any size; the compiled module is kept for the
 * process and instantiated once per WasmKernels.
 */

/** The kernel module's exports: pointers are byte addresses in its memory, booleans are 0/1. */
export interface KernelExports {
  heapBase(): number;
  gemmNT(M: number, N: number, K: number, a: number, b: number, c: number, acc: boolean): void;
  gemv(N: number, K: number, x: number, w: number, y: number, acc: boolean): void;
  gemmNN(M: number, N: number, K: number, a: number, b: number, c: number, acc: boolean): void;
  gemmNNPacked(M: number, N: number, K: number, a: number, b: number, c: number, acc: boolean, scratch: number): void;
  gemmNNScratchBytes(N: number): number;
  sumSquares(n: number, a: number): number;
  scale(n: number, a: number, s: number): void;
  adamUpdate(n: number, params: number, grads: number, m: number, v: number,
    stepSize: number, bc2Sqrt: number, beta1: number, beta2: number, eps: number): void;
  gemmTN(M: number, N: number, K: number, a: number, b: number, c: number, acc: boolean, scratch: number): void;
  gemmTNScratchBytes(M: number): number;
  addBias(rows: number, n: number, dst: number, bias: number): void;
  addColumnSums(rows: number, n: number, src: number, dst: number): void;
  gatherRows(rows: number, n: number, ids: number, table: number, dst: number): void;
  scatterAddRows(rows: number, n: number, ids: number, src: number, dst: number): void;
  addNorm(n: number, a: number, b: number, dst: number): number;
  softmaxXent(rows: number, V: number, logits: number, bias: number, targets: number): number;
  softmaxXentBackward(rows: number, V: number, probs: number, targets: number, scale: number, dlogits: number): void;
  lstmForward(B: number, H: number, xp: number, hp: number, cPrev: number, act: number, c: number, tc: number, h: number): void;
  lstmBackward(B: number, H: number, act: number, cPrev: number, tc: number, dh: number, dc: number, da: number): number;
  gruForward(B: number, H: number, xp: number, hp: number, hPrev: number, act: number, hpn: number, h: number): void;
  gruBackward(B: number, H: number, act: number, hpn: number, hPrev: number, dh: number, dxp: number, dhp: number, dhDirect: number): void;
  rnnForward(n: number, xp: number, hp: number, h: number): void;
  rnnBackward(n: number, h: number, dh: number, da: number): void;
  lstmForwardUnits(H: number, j0: number, j1: number, hPrev: number, packed: number, bhh: number, xp: number,
    cPrev: number, act: number, actGate: number, c: number, tc: number, h: number): void;
  lstmBackwardUnits(H: number, j0: number, j1: number, daNext: number, hasNext: boolean, packedT: number,
    dhOut: number, act: number, actGate: number, cPrev: number, tc: number, dcIn: number, dcOut: number, da: number, sq: number): void;
  packForward(H: number, whh: number, dst: number): void;
  packBackward(H: number, whh: number, dst: number): void;
  packedForwardFloats(H: number): number;
  packedBackwardFloats(H: number): number;
}

/** 'relaxed-simd' fuses multiply-adds (FMA where the CPU has it); 'simd' is the portable baseline. */
export type KernelVariant = 'relaxed-simd' | 'simd';

export interface KernelInstance {
  readonly variant: KernelVariant;
  readonly memory: WasmMemory;
  readonly exports: KernelExports;
}

/** The part of the WebAssembly JS API used here: the engine compiles without the DOM lib that declares it. */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: object };
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}

const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
const compiled = new Map<KernelVariant, object | null>();

/**
 * The variant to use: relaxed SIMD where the host validates it (Chrome ≥ 114, Electron, Node ≥ 22), plain SIMD
 * where only that validates (Node 20), null where neither does or shared memory is unavailable (a browser page
 * without cross-origin isolation): then the engine stays on the TypeScript kernels.
 */
export function bestVariant(): KernelVariant | null {
  if (moduleFor('relaxed-simd') !== null) return 'relaxed-simd';
  if (moduleFor('simd') !== null) return 'simd';
  return null;
}

/** A fresh instance with its own memory, or null when the variant cannot run here. */
export function instantiate(variant: KernelVariant): KernelInstance | null {
  const module = moduleFor(variant);
  if (api === undefined || module === null) return null;
  const memory = new api.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const instance = new api.Instance(module, { env: { memory } });
  return { variant, memory, exports: instance.exports as KernelExports };
}

/**
 * An instance on an existing shared memory (another thread's), or null when the variant cannot run here. The
 * kernel module has no mutable data in its memory (stub runtime), so instantiating it again on a memory in use
 * leaves every block as it is.
 */
export function instantiateOn(variant: KernelVariant, memory: WasmMemory): KernelInstance | null {
  const module = moduleFor(variant);
  if (api === undefined || module === null) return null;
  const instance = new api.Instance(module, { env: { memory } });
  return { variant, memory, exports: instance.exports as KernelExports };
}

function moduleFor(variant: KernelVariant): object | null {
  if (!compiled.has(variant)) compiled.set(variant, compile(variant === 'simd' ? SIMD_WASM : RELAXED_SIMD_WASM));
  return compiled.get(variant)!;
}

function compile(base64: string): object | null {
  if (api === undefined || !sharedMemoryWorks()) return null;
  const bytes = decodeBase64(base64);
  return api.validate(bytes) ? new api.Module(bytes) : null;
}

function sharedMemoryWorks(): boolean {
  try {
    new api!.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

function decodeBase64(s: string): Uint8Array {
  const bin = atob(s);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}
