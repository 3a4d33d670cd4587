import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import type { StepDiagnostics } from '../engine/types';

/** One logged step of `gatescope train --metrics`. */
export interface MetricsRow {
  readonly step: number;
  readonly loss: number;
  readonly valLoss: number | null; // null: not measured at this step
  readonly gradNorm: number;       // global, before clipping
  readonly clipRatio: number;
  readonly diagnostics: StepDiagnostics;
}

/**
 * The metrics file of a training run, written as the run goes: one line per logged step, appended and written
 * through at once (a crash keeps every line written). `.jsonl`: one JSON object a line; `.csv`: a header, then
 * step,loss,valLoss,gradNorm,clipRatio and <tensor>.grad,<tensor>.weight,<tensor>.update per tensor.
 * A resume appends (a CSV's header is written only when the file has none, and must match when it has one);
 * a fresh run starts the file afresh, with a note.
 */
export class MetricsWriter {
  private fd: number | null;
  private readonly csv: boolean;

  /**
   * Checks and opens `file` before training starts: its folder must exist and be writable, its name end in
   * .jsonl or .csv, and it must not be one of `others` (the model, the inputs).
   */
  constructor(readonly file: string, tensors: readonly string[], others: readonly string[], append: boolean, note: (s: string) => void) {
    const ext = path.extname(file).toLowerCase();
    if (ext !== '.jsonl' && ext !== '.csv') throw new GatescopeError(`--metrics ${file}: the name must end in .jsonl (JSON lines) or .csv`);
    this.csv = ext === '.csv';
    const target = path.resolve(file);
    const st = statOrNull(target);
    for (const other of others) {
      const so = statOrNull(path.resolve(other));
      if (target === path.resolve(other) || (st && so && st.dev === so.dev && st.ino === so.ino)) {
        throw new GatescopeError(`--metrics ${file} is ${other}, which the run reads or writes; choose another file`);
      }
    }
    const dir = path.dirname(target);
    const sd = statOrNull(dir);
    if (!sd) throw new GatescopeError(`--metrics ${file}: the folder ${dir} does not exist`);
    if (!sd.isDirectory()) throw new GatescopeError(`--metrics ${file}: ${dir} is not a folder`);
    if (st?.isDirectory()) throw new GatescopeError(`--metrics ${file} is a folder`);
    const header = this.csv ? csvHeader(tensors) : null;
    const existing = st && st.size > 0;
    let writeHeader = header !== null;
    if (existing && append && header !== null) {
      const first = firstLine(target);
      if (first !== header) {
        throw new GatescopeError(`--metrics ${file} has other columns than this run's (another model?); choose another file to continue the log in`);
      }
      writeHeader = false;
    }
    if (existing && !append) note(`--metrics ${file} exists: it starts afresh (with --resume, a run appends to it instead)`);
    try {
      this.fd = openSync(target, append ? 'a' : 'w');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new GatescopeError(`cannot write --metrics ${file}: ${code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'permission denied' : (e as Error).message}`);
    }
    if (writeHeader) this.write(header! + '\n');
  }

  /** Appends one step's line. */
  add(r: MetricsRow): void {
    const names = Object.keys(r.diagnostics.tensors);
    if (this.csv) {
      const num = (x: number | null): string => (x === null || !Number.isFinite(x) ? '' : String(x));
      const cells = [String(r.step), num(r.loss), num(r.valLoss), num(r.gradNorm), num(r.clipRatio)];
      for (const n of names) {
        const t = r.diagnostics.tensors[n]!;
        cells.push(num(t.grad), num(t.weight), num(t.update));
      }
      this.write(cells.join(',') + '\n');
      return;
    }
    // JSON writes a non-finite number as null: an update ratio of a tensor that was all zeros
    const line = {
      step: r.step, loss: r.loss, ...(r.valLoss !== null ? { valLoss: r.valLoss } : {}), gradNorm: r.gradNorm, clipRatio: r.clipRatio,
      tensors: r.diagnostics.tensors, ...(r.diagnostics.saturation ? { saturation: r.diagnostics.saturation } : {}),
    };
    this.write(JSON.stringify(line) + '\n');
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(s: string): void {
    const data = Buffer.from(s, 'utf8');
    try {
      for (let off = 0; off < data.length;) off += writeSync(this.fd!, data, off, data.length - off);
    } catch (e) {
      throw new GatescopeError(`could not write --metrics ${this.file}: ${(e as Error).message}`);
    }
  }
}

/** The CSV header for a model's tensors (in the model file's order). */
export function csvHeader(tensors: readonly string[]): string {
  return ['step', 'loss', 'valLoss', 'gradNorm', 'clipRatio', ...tensors.flatMap((n) => [`${n}.grad`, `${n}.weight`, `${n}.update`])].join(',');
}

function firstLine(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const s = buf.subarray(0, n).toString('utf8');
    const end = s.indexOf('\n');
    return (end < 0 ? s : s.slice(0, end)).replace(/\r$/, '');
  } finally {
    closeSync(fd);
  }
}

function statOrNull(p: string): ReturnType<typeof statSync> | null {
  try { return statSync(p); } catch { return null; }
}
