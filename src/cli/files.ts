import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import { decodeModelFile, type ModelFile } from '../engine/modelfile';
import { decodeText } from '../engine/text';

/** Largest input read whole; larger files are refused with their size (memory stays bounded). */
export const MAX_INPUT_BYTES = 512 * 1024 * 1024;

/**
 * Writes a file atomically: to a temporary file beside it, flushed to disk, then renamed over the target.
 * A crash or a full disk leaves the previous file intact and no half-written one under the target's name.
 */
export function writeFileAtomic(target: string, data: Uint8Array): void {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, target);
  } catch (e) {
    if (fd !== null) closeSync(fd);
    try { unlinkSync(tmp); } catch { /* it may not exist */ }
    throw new GatescopeError(`could not write ${target}: ${(e as NodeJS.ErrnoException).code ?? ''} ${(e as Error).message}`.trim(), 'invalid-input');
  }
}

function readBytes(file: string, what: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new GatescopeError(`${file} is a directory, not a ${what}`);
    size = st.size;
  } catch (e) {
    if (e instanceof GatescopeError) throw e;
    throw new GatescopeError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (size > MAX_INPUT_BYTES) {
    throw new GatescopeError(`${file} is ${(size / 2 ** 20).toFixed(0)} MiB; the limit is ${MAX_INPUT_BYTES / 2 ** 20} MiB (take a part of it)`);
  }
  return new Uint8Array(readFileSync(file));
}

export function readTextFile(file: string): string {
  return decodeText(readBytes(file, 'text file'), file);
}

export function readModelFile(file: string): ModelFile {
  try {
    return decodeModelFile(readBytes(file, 'model file'));
  } catch (e) {
    if (e instanceof GatescopeError && e.code === 'bad-model-file') throw new GatescopeError(`${file}: ${e.message}`, e.code);
    throw e;
  }
}
