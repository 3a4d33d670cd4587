import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { GatescopeError } from '../engine/errors';
import { decodeModelFile, type ModelFile } from '../engine/modelfile';
import { decodeText } from '../engine/text';

/** Largest input read whole; larger files are refused with their size (memory stays bounded). */
export const MAX_INPUT_BYTES = 512 * 1024 * 1024;

/**
 * Gets ready to write `target` (a model, a JSON export): refuses when it is one of the `inputs` (the same file by path
 * or by inode: a hard link, a symlink), creates its folder (saying why when it cannot), and removes the temporary
 * files earlier runs killed mid-write left beside it (writeFileAtomic's, of processes no longer running).
 */
export function prepareOutput(target: string, inputs: readonly string[], option: string): void {
  if (target === STDOUT) return;
  const t = path.resolve(target);
  const st = statOrNull(t);
  for (const input of inputs) {
    const i = path.resolve(input);
    const si = statOrNull(i);
    if (t === i || (st && si && st.dev === si.dev && st.ino === si.ino)) {
      throw new GatescopeError(`${option} ${target} is ${input}, one of the inputs: writing it would destroy it; choose another file`);
    }
  }
  const dir = path.dirname(t);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new GatescopeError(`cannot create the folder ${dir} for ${option}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOTDIR' ? 'a part of the path is a file' : (e as Error).message}`);
  }
  const stale = new RegExp(`^\\.${escapeRegExp(path.basename(t))}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  let names: string[] = [];
  try { names = readdirSync(dir); } catch { /* unreadable: nothing to clean */ }
  for (const name of names) {
    const m = stale.exec(name);
    if (m && !isRunning(Number(m[1]))) {
      try { unlinkSync(path.join(dir, name)); } catch { /* another process cleaned it */ }
    }
  }
}

/**
 * Takes the write lock of `target` for a long-running writer (a training run): `.<name>.lock` beside it, holding the
 * writer's pid. A second writer is refused with the first one's pid; a lock whose process has ended is taken over.
 * Returns the release.
 */
export function lockOutput(target: string): () => void {
  if (target === STDOUT) return () => undefined;
  const lock = path.join(path.dirname(path.resolve(target)), `.${path.basename(target)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => { try { unlinkSync(lock); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new GatescopeError(`cannot lock ${target} for writing: ${(e as Error).message}`);
      let pid = NaN;
      try { pid = Number(readFileSync(lock, 'utf8').trim()); } catch { /* removed meanwhile */ }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid)) {
        throw new GatescopeError(`another gatescope (pid ${pid}) is writing ${target}; wait for it to finish or choose another --out`);
      }
      try { unlinkSync(lock); } catch { /* removed meanwhile */ }
    }
  }
  throw new GatescopeError(`cannot lock ${target} for writing: another process keeps taking the lock`);
}

function statOrNull(p: string): ReturnType<typeof statSync> | null {
  try { return statSync(p); } catch { return null; }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Writes a file atomically: to a temporary file beside it, flushed to disk, then renamed over the target.
 * A crash or a full disk leaves the previous file intact and no half-written one under the target's name.
 */
/** The output name that means standard output (`--json -`, `--out -`). */
export const STDOUT = '-';

/** Writes an output: to standard output for `-` (all of it, before returning), else atomically to the file. */
export function writeOutput(target: string, data: Uint8Array): void {
  if (target !== STDOUT) return writeFileAtomic(target, data);
  for (let off = 0; off < data.length;) {
    try {
      off += writeSync(1, data, off, data.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw new GatescopeError(`could not write to standard output: ${(e as Error).message}`, 'invalid-input');
    }
  }
}

/** How an output is named in messages. */
export function outputName(target: string): string {
  return target === STDOUT ? 'standard output' : target;
}

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

export function readBytes(file: string, what: string): Uint8Array {
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
