import * as vscode from 'vscode';
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
