export { gemmNN, gemmNT, gemmTN, gemv, transpose } from './gemm';

/** First free byte after the module's static data: the host's allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
}
