import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import {
  jsonRows, littleEndianBytes, traceFileLayout, traceJsonParts, type TraceFileFacts, type TraceFileLayout, type TraceFileShape,
} from '../protocol/traceFile';
import { prepareOutput, STDOUT } from './files';

/**
 * Writing a trace file as it is computed, in bounded memory (the layouts are src/protocol/traceFile.ts's):
 *  - safetensors: the header's layout is known before tracing; each segment's rows are written at their offsets
 *    (positional writes), the arrays kept whole (predictions, norms) when they are complete, the header last;
 *  - JSON: each (T, H) quantity's rows go, as JSON text, to a temporary file of their own beside the output as the
 *    segments come; at the end the parts are written in order, each block copied from its file or formatted from
 *    memory. Standard output (`-`) gets the text as it is written.
 * Files are written to a temporary name beside the target (`.NAME.<pid>.<8 hex>.tmp`, the pattern prepareOutput
 * clears when its writer has died) and renamed over it at the end; abort() removes every temporary file.
 */
export interface TraceSink {
  /** Rows [from, to) of a tensor (positions of the range), in order: `data` holds (to − from) rows from its start. */
  rows(name: string, data: Float32Array | Int32Array, from: number, to: number): void;
  /** A whole tensor; JSON keeps the array (not a copy) until finish(). */
  whole(name: string, data: Float32Array | Int32Array): void;
  /** Writes what remains and puts the file in place; false when `stop()` turned true meanwhile (then abort()). */
  finish(facts: TraceFileFacts, stop: () => boolean): Promise<boolean>;
  /** Removes every temporary file (an error, Ctrl-C); the target stays as it was. */
  abort(): void;
}

export type TraceFormat = 'json' | 'safetensors';

export function openTraceSink(format: TraceFormat, target: string, shape: TraceFileShape, known: Omit<TraceFileFacts, 'loss' | 'lossAtValue'>): TraceSink {
  return format === 'json' ? new JsonSink(target, shape) : new SafetensorsSink(target, shape, known);
}

/** Bytes copied or formatted between two looks at Ctrl-C while the JSON is assembled. */
const CHUNK_BYTES = 1 << 20;

/** A temporary file's name beside `target`: the pattern prepareOutput recognises as a dead writer's. */
function tempBeside(target: string): string {
  return path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/** Runs file I/O, making its errors (a full disk, a folder removed meanwhile) one clear line about `target`. */
function io<T>(target: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GatescopeError || typeof (e as NodeJS.ErrnoException).code !== 'string') throw e;
    throw new GatescopeError(`could not write ${target === STDOUT ? 'to standard output' : target}: ${(e as Error).message}`);
  }
}

/** Writes all of `bytes` (at `position`, or where the file is for a pipe), through partial writes and a full pipe. */
function writeAll(fd: number, bytes: Uint8Array, position: number | null = null): void {
  for (let off = 0; off < bytes.length;) {
    try {
      off += writeSync(fd, bytes, off, bytes.length - off, position === null ? null : position + off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

function removeQuietly(file: string): void {
  try { unlinkSync(file); } catch { /* already gone */ }
}

function closeQuietly(fd: number | null): void {
  if (fd === null) return;
  try { closeSync(fd); } catch { /* closed */ }
}

class SafetensorsSink implements TraceSink {
  private readonly layout: TraceFileLayout;
  private readonly tmp: string;
  private fd: number | null;

  constructor(private readonly target: string, shape: TraceFileShape, known: Omit<TraceFileFacts, 'loss' | 'lossAtValue'>) {
    this.layout = traceFileLayout(shape, known);
    this.tmp = tempBeside(target);
    this.fd = io(target, () => openSync(this.tmp, 'wx', 0o644));
    io(target, () => ftruncateSync(this.fd!, this.layout.size));
  }

  rows(name: string, data: Float32Array | Int32Array, from: number, to: number): void {
    const t = this.layout.byName.get(name);
    if (!t) throw new Error(`trace file: no tensor ${name}`);
    const rowBytes = (t.end - t.begin) / (t.shape[0] ?? 1);
    const bytes = littleEndianBytes(data).subarray(0, (to - from) * rowBytes);
    if (t.begin + to * rowBytes > t.end || bytes.length !== (to - from) * rowBytes) throw new Error(`trace file: rows [${from}, ${to}) of ${name}`);
    io(this.target, () => writeAll(this.fd!, bytes, this.layout.dataStart + t.begin + from * rowBytes));
  }

  whole(name: string, data: Float32Array | Int32Array): void {
    const t = this.layout.byName.get(name);
    this.rows(name, data, 0, t?.shape[0] ?? 1);
  }

  async finish(facts: TraceFileFacts, stop: () => boolean): Promise<boolean> {
    if (stop()) return false;
    const fd = this.fd!;
    io(this.target, () => {
      writeAll(fd, this.layout.header(facts.loss, facts.lossAtValue), 0);
      fsyncSync(fd);
      closeSync(fd);
      this.fd = null;
      renameSync(this.tmp, this.target);
    });
    return true;
  }

  abort(): void {
    closeQuietly(this.fd);
    this.fd = null;
    removeQuietly(this.tmp);
  }
}

/** One JSON block streamed to a file of its own: its rows as JSON text, comma-separated. */
interface BlockFile {
  readonly file: string;
  fd: number | null;
  rows: number;
}

class JsonSink implements TraceSink {
  /** Where the JSON goes while it is written: a temporary file beside the target, or standard output. */
  private readonly tmp: string | null;
  private readonly blockDir: string;
  private readonly streamed = new Map<string, BlockFile>();
  private readonly kept = new Map<string, Float32Array | Int32Array>();
  private readonly cols: ReadonlyMap<string, number>;
  private fd: number | null = null;

  constructor(private readonly target: string, private readonly shape: TraceFileShape) {
    if (target === STDOUT) {
      // the blocks wait in the system's temporary folder; the ones of earlier runs that died are cleared first
      this.blockDir = path.join(os.tmpdir(), 'gatescope-trace');
      prepareOutput(this.blockDir, [], '--out');
      this.tmp = null;
    } else {
      this.blockDir = target;
      this.tmp = tempBeside(target);
    }
    // the row length of every block: from the parts (loss and text are not needed for that)
    const cols = new Map<string, number>();
    for (const p of traceJsonParts(shape, { text: '', loss: 0, range: null, lossAt: shape.saliency ? 0 : null, lossAtValue: shape.saliency ? 0 : null })) {
      if (typeof p !== 'string') cols.set(p.block, p.cols);
    }
    this.cols = cols;
  }

  rows(name: string, data: Float32Array | Int32Array, from: number, to: number): void {
    const cols = this.cols.get(name);
    if (cols === undefined) throw new Error(`trace JSON: no block ${name}`);
    let b = this.streamed.get(name);
    if (!b) {
      const file = tempBeside(this.blockDir);
      b = { file, fd: null, rows: 0 };
      this.streamed.set(name, b);
      b.fd = io(this.target, () => openSync(file, 'wx', 0o600));
    }
    if (from !== b.rows) throw new Error(`trace JSON: rows of ${name} from ${from}, not ${b.rows}`);
    const text = (b.rows > 0 ? ',' : '') + jsonRows(data, cols, 0, to - from);
    io(this.target, () => writeAll(b.fd!, Buffer.from(text, 'utf8')));
    b.rows = to;
  }

  whole(name: string, data: Float32Array | Int32Array): void {
    if (!this.cols.has(name)) throw new Error(`trace JSON: no block ${name}`);
    this.kept.set(name, data);
  }

  async finish(facts: TraceFileFacts, stop: () => boolean): Promise<boolean> {
    for (const b of this.streamed.values()) {
      closeQuietly(b.fd);
      b.fd = null;
    }
    this.fd = this.tmp === null ? 1 : io(this.target, () => openSync(this.tmp!, 'wx', 0o644));
    const fd = this.fd;
    let pending = '';
    const flush = (): void => {
      if (pending.length === 0) return;
      const bytes = Buffer.from(pending, 'utf8');
      pending = '';
      io(this.target, () => writeAll(fd, bytes));
    };
    // between chunks: the event loop runs, so a Ctrl-C is seen
    const breathe = async (): Promise<boolean> => {
      flush();
      await new Promise((r) => setImmediate(r));
      return !stop();
    };
    for (const part of traceJsonParts(this.shape, facts)) {
      if (typeof part === 'string') {
        pending += part;
        continue;
      }
      const file = this.streamed.get(part.block);
      if (file) {
        flush();
        const buf = Buffer.allocUnsafe(CHUNK_BYTES);
        const rfd = io(this.target, () => openSync(file.file, 'r'));
        try {
          for (;;) {
            const n = io(this.target, () => readSync(rfd, buf, 0, CHUNK_BYTES, null));
            if (n === 0) break;
            io(this.target, () => writeAll(fd, buf.subarray(0, n)));
            if (!(await breathe())) return false;
          }
        } finally {
          closeQuietly(rfd);
        }
        removeQuietly(file.file);
        continue;
      }
      const a = this.kept.get(part.block);
      if (!a) throw new Error(`trace JSON: block ${part.block} was never written`);
      const rows = part.cols ? a.length / part.cols : a.length;
      // about CHUNK_BYTES of text at a time (a number and its comma take ~10 characters)
      const step = Math.max(1, Math.floor(CHUNK_BYTES / 10 / Math.max(1, part.cols)));
      for (let r = 0; r < rows; r += step) {
        pending += (r > 0 ? ',' : '') + jsonRows(a, part.cols, r, Math.min(rows, r + step));
        if (pending.length >= CHUNK_BYTES && !(await breathe())) return false;
      }
    }
    flush();
    if (this.tmp !== null) {
      io(this.target, () => {
        fsyncSync(fd);
        closeSync(fd);
        this.fd = null;
        renameSync(this.tmp!, this.target);
      });
    } else {
      this.fd = null;
    }
    return true;
  }

  abort(): void {
    if (this.tmp !== null) {
      closeQuietly(this.fd);
      removeQuietly(this.tmp);
    }
    this.fd = null;
    for (const b of this.streamed.values()) {
      closeQuietly(b.fd);
      b.fd = null;
      removeQuietly(b.file);
    }
  }
}
