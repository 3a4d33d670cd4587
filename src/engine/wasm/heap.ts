/**
 * The WebAssembly memory of one kernel instance, and the allocator that places engine buffers in it so the
 * kernels read and write them in place.
 *
 * Invariant: a Float32Array handed out by allocate() stays valid, at the same address, for as long as anything
 * holds it, whatever is allocated after it. This holds because the memory is *shared*: growing a shared memory
 * never detaches or moves it (an unshared one would detach every view at each grow), so a view made before a
 * grow keeps working; it simply cannot see bytes added after it, and it never needs to.
 *
 * Reclamation: every block gets a SharedArrayBuffer object of its own (each memory.grow, even by 0 pages, makes
 * the memory hand out a new buffer object over the same bytes). The array returned and every subarray taken
 * from it hold that object, and nothing else does; once the garbage collector has collected it, no JavaScript
 * object can reach the block, and a FinalizationRegistry puts it back on the free list. So a block is reused
 * only when it is unreachable, without dispose() calls. (A caller who builds a view on `array.buffer` itself
 * reaches the whole memory and is on their own.)
 *
 * The registry's callbacks run as tasks of their own, between the host's tasks: a synchronous loop that keeps
 * making Unrolls on one network (tracing text after text without awaiting anything) cannot get their memory
 * back before it ends. So one task may take at most JOB_BUDGET bytes of new blocks; past that, allocate()
 * returns null until a timer has seen the task end. The same null when the memory cannot grow (4 GiB, or the
 * host refuses): the caller then uses an ordinary array, which the garbage collector reclaims at once and the
 * kernels handle by copying or in TypeScript.
 */

/** The part of the WebAssembly JS API used here: the engine compiles without the DOM lib that declares it. */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}

const PAGE = 65536;
/** Block alignment in bytes: every buffer starts on a cache line of its own. */
const ALIGN = 64;
/**
 * Bytes kept mapped past the last block: kernels read whole 4-float vectors at the end of a row, up to 12 bytes
 * past it (and never write there), which must stay inside the memory.
 */
const SLACK = 64;
/** The largest memory: 65536 pages of 64 KiB, all that 32-bit addresses reach. */
export const MAX_PAGES = 65536;
/** Bytes of blocks one task may take (see above): well above any training step's or long trace's working set. */
export const JOB_BUDGET = 1 << 30;

interface Block {
  readonly ptr: number;
  readonly bytes: number;
}

export class WasmHeap {
  private top: number;             // first byte after the last block in use
  private clean: number;           // first byte never handed out: all zero from here on, as grow() makes it
  private readonly free: Block[] = []; // sorted by address, no two adjacent (they are merged)
  private readonly blockBuffers = new WeakSet<ArrayBufferLike>();
  private readonly registry = new FinalizationRegistry<Block>((b) => this.release(b));
  private jobBytes = 0; // bytes of blocks handed out since the current task began

  constructor(readonly memory: WasmMemory, heapBase: number, private readonly jobBudget = JOB_BUDGET) {
    this.top = this.clean = roundUp(heapBase, ALIGN);
  }

  /**
   * A zero-filled Float32Array of n floats in the memory, with a buffer object of its own (see the invariant
   * above), or null when the memory cannot grow to hold it.
   */
  allocate(n: number): Float32Array | null {
    const bytes = roundUp(Math.max(n, 1) * 4, ALIGN);
    if (this.jobBytes + bytes > this.jobBudget) return null;
    const clean = this.clean;
    const block = this.reserve(bytes);
    if (block === null) return null;
    if (this.jobBytes === 0) setTimeout(() => { this.jobBytes = 0; }, 0); // runs once the current task ends
    this.jobBytes += bytes;
    const before = this.memory.buffer;
    this.memory.grow(0);
    const buffer = this.memory.buffer;
    const view = new Float32Array(buffer, block.ptr, n);
    view.fill(0, 0, Math.max(0, clean - block.ptr) / 4); // what was handed out before holds old numbers
    this.blockBuffers.add(buffer);
    if (buffer !== before) {
      this.registry.register(buffer, block);
      // let the memory hand out another object, so this one is held only by the block's views
      this.memory.grow(0);
    }
    // else the host shares one buffer object across grows: the block can never be proven unreachable, so it is
    // never reused (safe, and only a leak)
    return view;
  }

  /** Raw bytes for the kernels' own scratch, outside the collector's view: freed only by release(). */
  reserve(bytes: number): Block | null {
    bytes = roundUp(bytes, ALIGN);
    const i = this.free.findIndex((b) => b.bytes >= bytes);
    if (i >= 0) {
      const b = this.free[i]!;
      if (b.bytes === bytes) this.free.splice(i, 1);
      else this.free[i] = { ptr: b.ptr + bytes, bytes: b.bytes - bytes };
      return { ptr: b.ptr, bytes };
    }
    const end = this.top + bytes;
    const pages = Math.ceil((end + SLACK) / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (pages > MAX_PAGES) return null;
    if (pages > have) {
      try {
        this.memory.grow(pages - have);
      } catch {
        return null; // the host refused the memory
      }
    }
    const block = { ptr: this.top, bytes };
    this.top = end;
    this.clean = Math.max(this.clean, end);
    return block;
  }

  /** Returns a block to the free list, merging it with free neighbours and giving the top back. */
  release(block: Block): void {
    let { ptr, bytes } = block;
    let i = this.free.findIndex((b) => b.ptr > ptr);
    if (i < 0) i = this.free.length;
    const prev = this.free[i - 1];
    if (prev !== undefined && prev.ptr + prev.bytes === ptr) {
      ptr = prev.ptr;
      bytes += prev.bytes;
      this.free.splice(--i, 1);
    }
    const next = this.free[i];
    if (next !== undefined && ptr + bytes === next.ptr) {
      bytes += next.bytes;
      this.free.splice(i, 1);
    }
    if (ptr + bytes === this.top) this.top = ptr;
    else this.free.splice(i, 0, { ptr, bytes });
  }

  /** Whether `buffer` is the buffer object of a block of this heap, i.e. a view of it is in the memory. */
  owns(buffer: ArrayBufferLike): boolean {
    return this.blockBuffers.has(buffer);
  }
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}
