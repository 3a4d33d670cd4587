import * as vscode from 'vscode';
import { GatescopeError } from '../engine/errors';
import type { TrainingSource } from '../engine/modelfile';
import { decodeText, utf8Boundary } from '../engine/text';
import { config } from './config';
import type { ModelEntry } from '../models/modelStore';
import { baseName } from '../protocol/names';


/** A training text and where it came from (recorded in the model). */
export interface TrainingText {
  readonly text: string;
  readonly source: TrainingSource;
}

/**
 * Reads a file's text for training: the open editor's text when the file is open (what the user sees,
 * saved or not), else the file through vscode.workspace.fs. A file above gatescope.maxFileBytes is offered in
 * part (cut at a character boundary). Resolves to null when the user declines; bad input throws a
 * GatescopeError with a message to show.
 */
export async function readTrainingText(uri: vscode.Uri): Promise<TrainingText | null> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  const name = baseName(uri);
  if (open) {
    const text = open.getText();
    if (text.length === 0) throw new GatescopeError(`${name} is empty: there is nothing to learn from`, 'not-text');
    return { text, source: { uri: uri.toString() } };
  }
  let size: number;
  try {
    const st = await vscode.workspace.fs.stat(uri);
    if (st.type & vscode.FileType.Directory) throw new GatescopeError(`${name} is a folder; use "Train LSTM on Workspace" for many files`);
    size = st.size;
  } catch (e) {
    if (e instanceof GatescopeError) throw e;
    throw new GatescopeError(`cannot read ${name}: ${(e as Error).message}`);
  }
  // ask before reading: a declined multi-gigabyte file is never loaded
  const limit = config.maxFileBytes();
  if (size > limit) {
    const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)} MB`;
    const take = `Use the First ${mb(limit)}`;
    const choice = await vscode.window.showWarningMessage(`${name} is ${mb(size)}, more than gatescope.maxFileBytes (${mb(limit)}).`,
      { modal: true, detail: 'Training reads the whole text into memory. Train on its beginning, or cancel and raise the limit.' }, take);
    if (choice !== take) return null;
  }
  const bytes = await vscode.workspace.fs.readFile(uri);
  const cut = size > limit ? utf8Boundary(bytes, limit) : null;
  return { text: decodeText(cut !== null ? bytes.subarray(0, cut) : bytes, name), source: { uri: uri.toString(), ...(cut !== null ? { bytes: cut } : {}) } };
}

/**
 * A recorded source's text as training read it, through vscode.workspace.fs: the file decoded (its first `bytes`
 * bytes when given). Throws when the file cannot be read or is not text.
 */
export async function readSourceText(uri: string, bytes: number | undefined): Promise<string> {
  const u = vscode.Uri.parse(uri);
  const data = await vscode.workspace.fs.readFile(u);
  return decodeText(bytes !== undefined ? data.subarray(0, bytes) : data, baseName(u));
}

/** A model URI from a command argument: a Uri, a Models-view entry (`uri`), a tree item (`resourceUri`), or nothing. */
export function modelArg(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (arg && typeof arg === 'object') {
    const { uri, resourceUri } = arg as Partial<ModelEntry> & { resourceUri?: unknown };
    if (uri instanceof vscode.Uri) return uri;
    if (resourceUri instanceof vscode.Uri) return resourceUri;
  }
  return undefined;
}

/** Text pickers offer text files (a model, an image or a binary cannot be inspected on); all files stays one click away. */
export const TEXT_FILTERS: Record<string, string[]> = {
  'Text': ['txt', 'md', 'rst', 'tex', 'log', 'csv', 'py', 'js', 'mjs', 'ts', 'tsx', 'jsx', 'c', 'h', 'cpp', 'hpp', 'cc', 'cs', 'java', 'go', 'rs', 'rb',
    'php', 'swift', 'kt', 'scala', 'sh', 'lua', 'hs', 'ml', 'html', 'css', 'json', 'yaml', 'yml', 'toml', 'xml', 'sql', 'r', 'jl'],
  'All files': ['*'],
};
