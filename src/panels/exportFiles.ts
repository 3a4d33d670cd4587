import * as vscode from 'vscode';

/** The questions an export asks: where to save, and whether to write a large file. Tests answer them (InspectorApi.exportTrace). */
export interface ExportUi {
  /** A save dialog opened at `defaultUri`; undefined when the user cancelled. */
  saveTo(defaultUri: vscode.Uri | undefined, filters: Record<string, string[]>, title: string): Promise<vscode.Uri | undefined>;
  /** The file will be large (`message`, `detail` say how and why): write it? */
  confirmLarge(message: string, detail: string, go: string): Promise<boolean>;
}

export const vscodeExportUi: ExportUi = {
  saveTo: (defaultUri, filters, title) => Promise.resolve(vscode.window.showSaveDialog({ defaultUri, filters, title, saveLabel: 'Export' })),
  async confirmLarge(message, detail, go) {
    return (await vscode.window.showWarningMessage(message, { modal: true, detail }, go)) === go;
  },
};

/** Where an export of the inspected text goes by default: beside the text, else in the first workspace folder. */
export function defaultExportUri(document: string | null, name: string): vscode.Uri | undefined {
  const doc = document ? vscode.Uri.parse(document) : null;
  if (doc && doc.scheme !== 'untitled') return vscode.Uri.joinPath(doc, '..', name);
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, name) : undefined;
}

/**
 * Writes atomically, as ModelStore.write does: a temporary file beside the target, then a rename over it, so that
 * a reader never sees half a file and a failed write leaves the old one. Asynchronous (vscode.workspace.fs).
 */
export async function writeAtomically(uri: vscode.Uri, bytes: Uint8Array): Promise<void> {
  const dir = vscode.Uri.joinPath(uri, '..');
  const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
  const tmp = vscode.Uri.joinPath(dir, `.${name}.${Date.now().toString(36)}${Math.floor(performance.now() * 1000).toString(36)}.tmp`);
  try {
    await vscode.workspace.fs.writeFile(tmp, bytes);
    await vscode.workspace.fs.rename(tmp, uri, { overwrite: true });
  } catch (e) {
    try { await vscode.workspace.fs.delete(tmp); } catch { /* it may not exist */ }
    throw e;
  }
}
