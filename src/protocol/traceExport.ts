import { formatBytes } from './names';
import { jsonRows, littleEndianBytes, traceFileLayout, traceJsonParts } from './traceFile';
import { traceJsonBlocks, traceJsonBytesEstimate, type TraceJsonInput } from './traceJson';

/**
 * A whole trace written as a file in pieces of about CHUNK_BYTES, in order: what the engine worker hands the host
 * one at a time for the inspector's exports (the host appends each to the file the user chose), so that neither
 * holds the file — a 2 × 1024 LSTM's 10,000 characters are ~0.5 GB as safetensors and ~1.2 GB as JSON. The bytes
 * are those of `gatescope trace --out` (traceFile.ts): the same layout, the same number format. Pure.
 */
export type TraceExportFormat = 'json' | 'safetensors';

export const CHUNK_BYTES = 8 * 2 ** 20;

/** The file's size: exact for safetensors, estimated (within a few per cent) for JSON. */
export function traceExportSize(trace: TraceJsonInput, vocab: readonly string[], cell: string, H: number, format: TraceExportFormat): number {
  if (format === 'json') return traceJsonBytesEstimate(trace, vocab, cell);
  const { shape, facts } = traceJsonBlocks(trace, vocab, cell, H);
  return traceFileLayout(shape, facts).size;
}

/** The file's bytes in order, in pieces of at most about `chunk` bytes (a JSON row is never split). */
export function* traceExportChunks(trace: TraceJsonInput, vocab: readonly string[], cell: string, H: number, format: TraceExportFormat,
  chunk = CHUNK_BYTES): Generator<Uint8Array, void, void> {
  const { shape, facts, blocks } = traceJsonBlocks(trace, vocab, cell, H);
  if (format === 'safetensors') {
    const layout = traceFileLayout(shape, facts);
    yield layout.header(facts.loss, facts.lossAtValue);
    for (const t of layout.tensors) {
      const a = blocks.get(t.name)! as Float32Array | Int32Array;
      const bytes = littleEndianBytes(a instanceof Float32Array || a instanceof Int32Array ? a : Float32Array.from(a));
      // copies: the chunks are transferred, and the trace stays with its owner
      for (let o = 0; o < bytes.length; o += chunk) yield bytes.slice(o, Math.min(bytes.length, o + chunk));
    }
    return;
  }
  const enc = new TextEncoder();
  let pending = '';
  for (const part of traceJsonParts(shape, facts)) {
    if (typeof part === 'string') {
      pending += part;
      continue;
    }
    const a = blocks.get(part.block)!;
    const rows = part.cols ? a.length / part.cols : a.length;
    // about 12 characters a number: rows per piece so that a piece is about `chunk` bytes
    const step = Math.max(1, Math.floor(chunk / (12 * Math.max(1, part.cols))));
    for (let r = 0; r < rows; r += step) {
      pending += (r > 0 ? ',' : '') + jsonRows(a, part.cols, r, Math.min(rows, r + step));
      if (pending.length >= chunk) {
        yield enc.encode(pending);
        pending = '';
      }
    }
  }
  if (pending) yield enc.encode(pending);
}

/** "about 109 MB as JSON, 98.5 MB as safetensors": both sizes, for the question before a large export. */
export function bothSizes(json: number, safetensors: number): string {
  return `about ${formatBytes(json)} as JSON, ${formatBytes(safetensors)} as safetensors`;
}
