/**
 * The exports of the kernel module. The host owns the memory (imported, shared) and all allocation: every
 * argument named like a buffer is a byte address in it, every other argument a size or a scalar.
 */
export { gemmNN, gemmNT, gemmTN, gemmTNScratchBytes, gemv } from './gemm';
export { gruBackward, gruForward, lstmBackward, lstmForward, rnnBackward, rnnForward } from './cells';
export { addBias, addColumnSums, addNorm, gatherRows, scatterAddRows, softmaxXent, softmaxXentBackward } from './rows';

/** First free byte after the module's static data: the host's allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
}
export { lstmBackwardUnits, lstmForwardUnits, packBackward, packedBackwardFloats, packedForwardFloats, packForward } from './steps';
export { gemmNNPacked, gemmNNScratchBytes } from './gemm';
export { adamUpdate, scale, sumSquares } from './optim';
