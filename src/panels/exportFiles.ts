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
