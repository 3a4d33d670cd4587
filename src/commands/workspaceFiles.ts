import * as vscode from 'vscode';
import { GatescopeError } from '../engine/errors';
import { decodeText } from '../engine/text';
import { config } from '../host/config';
import { joinPieces } from '../models/provenance';
import { formatBytes } from '../protocol/names';

export interface WorkspaceText {
  readonly text: string;
  /** The files in the text, in order (each ends with a newline in it: join rule newline-after-each). */
  readonly uris: readonly vscode.Uri[];
  readonly files: number;
  readonly bytes: number;
  readonly skipped: number;   // binary or non-UTF-8 files left out
  readonly truncated: boolean; // stopped at gatescope.workspace.maxBytes
  /** The files found but not in the text, each with why (in path order, by reason). */
  readonly leftOut: readonly LeftOut[];
}

/** A file "Train LSTM on Workspace" found but left out of the text, and why. */
export interface LeftOut {
  /** Its path relative to its workspace folder. */
  readonly path: string;
  readonly reason: 'gitignore' | 'not-text' | 'max-bytes';
}

/**
 * The workspace's text files for "Train LSTM on Workspace": gatescope.workspace.include minus files.exclude
 * and search.exclude (both through findFiles' exclude) and the patterns of each folder's top-level
 * .gitignore, in path order, until gatescope.workspace.maxBytes.
 */
export async function collectWorkspaceText(token: vscode.CancellationToken): Promise<WorkspaceText> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) throw new GatescopeError('open a folder first: "Train LSTM on Workspace" trains on the files of the open folder');
  const exclude = excludeGlob();
  const uris: vscode.Uri[] = [];
  const leftOut = new Map<string, LeftOut>();
  const relative = (u: vscode.Uri): string => vscode.workspace.asRelativePath(u, folders.length > 1);
  for (const folder of folders) {
    const ignored = await gitignorePatterns(folder.uri);
    for (const include of config.workspaceInclude()) {
      const found = await vscode.workspace.findFiles(new vscode.RelativePattern(folder, include), exclude, 100_000, token);
      for (const u of found) {
        const rel = u.path.slice(folder.uri.path.length + 1);
        if (!ignored.some((re) => re.test(rel))) uris.push(u);
        else leftOut.set(u.toString(), { path: relative(u), reason: 'gitignore' });
      }
    }
  }
  const unique = [...new Map(uris.map((u) => [u.toString(), u])).values()].sort((a, b) => a.path.localeCompare(b.path));
  const max = config.workspaceMaxBytes();
  const parts: string[] = [];
  const used: vscode.Uri[] = [];
  let bytes = 0, skipped = 0, truncated = false;
  for (const [k, u] of unique.entries()) {
    if (token.isCancellationRequested) break;
    const data = await vscode.workspace.fs.readFile(u);
    if (bytes + data.length > max) {
      truncated = true;
      for (const rest of unique.slice(k)) leftOut.set(rest.toString(), { path: relative(rest), reason: 'max-bytes' });
      break;
    }
    try {
      parts.push(decodeText(data, u.path));
      used.push(u);
      bytes += data.length;
    } catch {
      skipped++;
      leftOut.set(u.toString(), { path: relative(u), reason: 'not-text' });
    }
  }
  if (parts.length === 0) throw new GatescopeError('no text files found in the workspace (see gatescope.workspace.include)', 'not-text');
  return { text: joinPieces(parts, 'newline-after-each'), uris: used, files: parts.length, bytes, skipped, truncated, leftOut: [...leftOut.values()] };
}

/**
 * The question before training on the workspace: how many files and how much text (never "0.0 MB" for a small
 * selection), and which files were left out and why (a few names per reason, then how many more).
 */
export function workspaceQuestion(ws: Pick<WorkspaceText, 'files' | 'bytes' | 'leftOut'>, maxBytes: number): { message: string; detail: string } {
  const count = (n: number, one: string): string => `${n.toLocaleString('en-US')} ${one}${n === 1 ? '' : 's'}`;
  const names = (xs: readonly LeftOut[]): string => xs.slice(0, 5).map((x) => x.path).join(', ') + (xs.length > 5 ? ` and ${(xs.length - 5).toLocaleString('en-US')} more` : '');
  const why: Record<LeftOut['reason'], string> = {
    'not-text': 'binary or not UTF-8',
    'max-bytes': `past gatescope.workspace.maxBytes (${formatBytes(maxBytes)})`,
    gitignore: 'matched by .gitignore',
  };
  const lines = (['not-text', 'max-bytes', 'gitignore'] as const).map((reason) => {
    const xs = ws.leftOut.filter((x) => x.reason === reason);
    return xs.length ? `Left out, ${why[reason]}: ${count(xs.length, 'file')} (${names(xs)}).` : '';
  }).filter(Boolean);
  lines.push('Files come from gatescope.workspace.include, less those of files.exclude and search.exclude.');
  return { message: `Train on ${count(ws.files, 'file')} (${formatBytes(ws.bytes)} of text) of the workspace?`, detail: lines.join('\n') };
}


function excludeGlob(): string | undefined {
  const patterns = new Set<string>();
  for (const section of ['files.exclude', 'search.exclude']) {
    const obj = vscode.workspace.getConfiguration().get<Record<string, unknown>>(section) ?? {};
    for (const [glob, on] of Object.entries(obj)) if (on === true) patterns.add(glob);
  }
  patterns.add('**/.gatescope/**');
  return patterns.size ? `{${[...patterns].join(',')}}` : undefined;
}

/** The folder's top-level .gitignore as regular expressions over folder-relative paths (no negations). */
export async function gitignorePatterns(folder: vscode.Uri): Promise<RegExp[]> {
  let text: string;
  try {
    text = new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, '.gitignore')));
  } catch {
    return [];
  }
  return gitignoreToRegExps(text);
}

/** Translates .gitignore lines (the common subset: *, **, ?, trailing /, leading /) into path tests. */
export function gitignoreToRegExps(text: string): RegExp[] {
  const out: RegExp[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    let p = line.replace(/\/$/, '');
    const anchored = p.startsWith('/') || p.includes('/');
    p = p.replace(/^\//, '');
    const body = p.split('**').map((s) => s.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')).join('.*');
    out.push(new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}(?:/.*)?$`));
  }
  return out;
}
