import * as assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WasmHeap, type WasmMemory } from '../../../src/engine/wasm/heap';
import { WasmKernels } from '../../../src/engine/wasm/wasmKernels';

/**
 * The allocator behind the kernels' allocation hook (src/engine/wasm/heap.ts): views stay valid across growth,
 * blocks come back zeroed, and a block is reused only once nothing can reach it.
 */
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage and lets the FinalizationRegistry callbacks run (they are queued as tasks). */
async function collect(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('WebAssembly heap', () => {
  it('keeps every view valid while the memory grows under it, and the kernels use them in place', () => {
    const k = new WasmKernels();
    const a = k.allocate(Float32Array, 12) as Float32Array, b = k.allocate(Float32Array, 12) as Float32Array;
    a.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    b.set(a);
    const before = k.heap.memory.buffer.byteLength;
    const big = k.allocate(Float32Array, 8 << 20) as Float32Array; // 32 MiB: several grows
    assert.ok(k.heap.memory.buffer.byteLength > before);
    assert.deepEqual([...a], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    k.gemmNT(3, 3, 4, a, 0, b, 0, big, 0, false);
    assert.equal(big[0], 1 + 4 + 9 + 16);
    assert.ok(k.heap.owns(a.buffer) && k.heap.owns(big.buffer));
  });

  it('returns a block once nothing reaches it, zero-filled, and not while a subarray of it lives', async () => {
    const k = new WasmKernels();
    let a: Float32Array | null = k.allocate(Float32Array, 1000) as Float32Array;
    const where = a.byteOffset;
    a.fill(7);
    let sub: Float32Array | null = a.subarray(10, 20);
    a = null;
    await collect();
    const other = k.allocate(Float32Array, 1000) as Float32Array;
    assert.notEqual(other.byteOffset, where, 'reused while a subarray still reached it');
    assert.equal(sub[0], 7);
    sub = null;
    await collect();
    const again = k.allocate(Float32Array, 1000) as Float32Array;
    assert.equal(again.byteOffset, where, 'not reused after it became unreachable');
    assert.ok(again.every((x) => x === 0));
    assert.ok(sub === null && other.length === 1000);
  });

  it('merges freed neighbours and gives the top back', () => {
    const memory: WasmMemory = new (globalThis as any).WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const heap = new WasmHeap(memory, 0);
    const [x, y, z] = [heap.reserve(100)!, heap.reserve(200)!, heap.reserve(64)!];
    assert.deepEqual([x.ptr, y.ptr, z.ptr], [0, 128, 384]);
    heap.release(x);
    heap.release(y);
    assert.equal(heap.reserve(300)!.ptr, 0, 'the merged hole fits 300 bytes');
    heap.release(z); // joins the 64 bytes left of the hole, and both the top
    assert.equal(heap.reserve(64)!.ptr, 320, 'the top came back');
  });

  it('zero-fills blocks over memory handed out before, scratch included', () => {
    const memory: WasmMemory = new (globalThis as any).WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const heap = new WasmHeap(memory, 0);
    const scratch = heap.reserve(256)!;
    new Float32Array(memory.buffer, scratch.ptr, 64).fill(3);
    heap.release(scratch);
    assert.ok(heap.allocate(64)!.every((x) => x === 0));
  });

  it('gives one task at most its budget of new blocks, then ordinary arrays until the task ends', async () => {
    const memory: WasmMemory = new (globalThis as any).WebAssembly.Memory({ initial: 1, maximum: 64, shared: true });
    const heap = new WasmHeap(memory, 0, 1 << 16);
    assert.ok(heap.allocate(8192) !== null);
    assert.ok(heap.allocate(8192) !== null);
    assert.equal(heap.allocate(16), null, 'over budget within the task');
    await new Promise((resolve) => setTimeout(resolve, 1));
    assert.ok(heap.allocate(8192) !== null, 'a new task has a new budget');
  });

  it('returns null when the memory cannot grow, and the kernels fall back to ordinary arrays', () => {
    const refusing: WasmMemory = {
      buffer: new SharedArrayBuffer(65536),
      grow: (pages) => {
        if (pages > 0) throw new RangeError('no');
        return 1;
      },
    };
    assert.equal(new WasmHeap(refusing, 0).allocate(1 << 20), null);
    const k = new WasmKernels();
    const huge = 1.1e9; // more than 4 GiB of float32
    assert.equal(k.heap.allocate(huge), null);
  });
});
