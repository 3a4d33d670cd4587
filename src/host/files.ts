import * as vscode from 'vscode';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { baseName } from '../protocol/names';

/**
 * Writes a file atomically through vscode.workspace.fs (remote and virtual workspaces too): a temporary file beside
 * the target, then a rename over it, so that a reader never sees half a file and a failed write leaves the old one.
 * The temporary name (`.NAME.<base36>.tmp`) is what ModelStore's clean-up of stale temporaries recognises.
 */
export async function writeAtomically(uri: vscode.Uri, bytes: Uint8Array): Promise<void> {
  const dir = vscode.Uri.joinPath(uri, '..');
  const tmp = vscode.Uri.joinPath(dir, `.${baseName(uri)}.${Date.now().toString(36)}${Math.floor(performance.now() * 1000).toString(36)}.tmp`);
  try {
    await vscode.workspace.fs.writeFile(tmp, bytes);
    await vscode.workspace.fs.rename(tmp, uri, { overwrite: true });
  } catch (e) {
    try { await vscode.workspace.fs.delete(tmp); } catch { /* it may not exist */ }
    throw e;
  }
}

/**
 * Writes a file from pieces that `next` hands out one at a time (null at the end), atomically as writeAtomically:
 * on a local disk each piece is appended to the temporary file as it comes (Node's asynchronous file I/O, off
 * the extension host's thread), so the file is never held whole; elsewhere (remote, virtual) the pieces are
 * joined and written through vscode.workspace.fs. Returns the bytes written. `onProgress` hears the count.
 */
export async function writeStreamAtomically(uri: vscode.Uri, next: () => Promise<Uint8Array | null>, onProgress?: (bytes: number) => void): Promise<number> {
  if (uri.scheme !== 'file') {
    const pieces: Uint8Array[] = [];
    let n = 0;
    for (let p = await next(); p !== null; p = await next()) {
      pieces.push(p);
      n += p.length;
      onProgress?.(n);
    }
    const all = new Uint8Array(n);
    let at = 0;
    for (const p of pieces) { all.set(p, at); at += p.length; }
    await writeAtomically(uri, all);
    return n;
  }
  const target = uri.fsPath;
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${Date.now().toString(36)}${Math.floor(performance.now() * 1000).toString(36)}.tmp`);
  const fh = await fsp.open(tmp, 'wx');
  let n = 0;
  try {
    for (let p = await next(); p !== null; p = await next()) {
      let done = 0;
      while (done < p.length) done += (await fh.write(p, done, p.length - done)).bytesWritten;
      n += p.length;
      onProgress?.(n);
    }
    await fh.sync();
    await fh.close();
    await fsp.rename(tmp, target);
    return n;
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
}
