import * as vscode from 'vscode';
import type { EngineClient } from '../host/engineClient';
import { open } from 'node:fs/promises';
import { describeModelHeader, type ModelHeaderSummary } from '../engine/modelfile';
import { parseSafetensorsHeader, safetensorsHeaderBytes } from '../engine/safetensors';
import type { ModelSummary } from '../protocol/worker';
import { config } from '../host/config';
import { writeAtomically } from '../host/files';
import { comparedModel, comparisonName } from './provenance';

/** A model file and what the engine says about it (null while unread or when the file is not usable). */
export interface ModelEntry {
  readonly uri: vscode.Uri;
  readonly summary: ModelSummary | null;
  readonly error: string | null;
  /** The comparison models kept beside it (`<stem>.compare-<cell>.safetensors`), listed under it rather than as models. */
  readonly comparisons?: readonly vscode.Uri[];
}

/**
 * The models the user has: `*.safetensors` in the models folder (gatescope.modelsDir under the first
 * workspace folder, or the extension's global storage without one) plus files opened with "Open Model…".
 * All file access goes through vscode.workspace.fs so remote and virtual workspaces work. Writes are atomic:
 * a temporary file in the same folder, then a rename over the target.
 */
export class ModelStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly summaries = new Map<string, { mtime: number; entry: ModelEntry }>();
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private watcher: vscode.FileSystemWatcher | null = null;
  private static readonly OPENED_KEY = 'gatescope.openedModels';

  constructor(private readonly context: vscode.ExtensionContext, private readonly engine: EngineClient) {
    this.disposables.push(vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('gatescope.modelsDir')) this.watch();
    }), vscode.workspace.onDidChangeWorkspaceFolders(() => this.watch()));
    this.watch();
  }

  /** The folder models are saved in. */
  get folder(): vscode.Uri {
    const dir = config.modelsDir();
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    if (/^(\/|[A-Za-z]:[\\/])/.test(dir)) return vscode.Uri.file(dir);
    if (root) return vscode.Uri.joinPath(root, ...dir.split(/[\\/]/).filter(Boolean));
    return vscode.Uri.joinPath(this.context.globalStorageUri, 'models');
  }

  private watch(): void {
    this.watcher?.dispose();
    const folder = this.folder;
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '*.safetensors'));
    const fire = (): void => this.changed.fire();
    this.watcher.onDidCreate(fire);
    this.watcher.onDidDelete(fire);
    this.watcher.onDidChange(fire);
    this.changed.fire();
    void this.removeStaleTemporaries(folder);
  }

  /**
   * Temporary files of saves that never finished (the window or a CLI run killed mid-write: `.<model>.….tmp` beside
   * the model) are removed when the folder is first watched; only those untouched for an hour, so that a save under
   * way in another window or process is left alone.
   */
  private async removeStaleTemporaries(folder: vscode.Uri): Promise<void> {
    let names: [string, vscode.FileType][];
    try { names = await vscode.workspace.fs.readDirectory(folder); } catch { return; }
    for (const [name, type] of names) {
      if (type !== vscode.FileType.File || !STALE_TMP.test(name)) continue;
      const u = vscode.Uri.joinPath(folder, name);
      const st = await statOrNull(u);
      if (st && Date.now() - st.mtime > STALE_TMP_AGE_MS) {
        try { await vscode.workspace.fs.delete(u); } catch { /* removed meanwhile */ }
      }
    }
  }

  /** Models in the folder and opened ones, newest first. */
  async list(): Promise<ModelEntry[]> {
    const uris = new Map<string, vscode.Uri>();
    try {
      for (const [name, type] of await vscode.workspace.fs.readDirectory(this.folder)) {
        if (type === vscode.FileType.File && name.endsWith('.safetensors') && !comparedModel(name)) {
          const u = vscode.Uri.joinPath(this.folder, name);
          uris.set(u.toString(), u);
        }
      }
    } catch {
      // no models folder yet
    }
    for (const s of this.context.workspaceState.get<string[]>(ModelStore.OPENED_KEY, [])) uris.set(s, vscode.Uri.parse(s));
    const entries = await Promise.all([...uris.values()].map(async (u) => ({ ...(await this.entry(u)), comparisons: await this.comparisonsOf(u) })));
    const withTime = await Promise.all(entries.map(async (e) => ({ e, mtime: (await statOrNull(e.uri))?.mtime ?? -1 })));
    return withTime.filter((x) => x.mtime >= 0).sort((a, b) => b.mtime - a.mtime).map((x) => x.e);
  }

  /** A model's summary, cached by modification time; reading and checking happen in the worker. */
  async entry(uri: vscode.Uri): Promise<ModelEntry> {
    const st = await statOrNull(uri);
    const key = uri.toString();
    const cached = this.summaries.get(key);
    if (st && cached && cached.mtime === st.mtime) return cached.entry;
    let entry: ModelEntry;
    try {
      const summary = await this.engine.describe(await this.read(uri));
      entry = { uri, summary, error: null };
    } catch (e) {
      entry = { uri, summary: null, error: (e as Error).message };
    }
    if (st) this.summaries.set(key, { mtime: st.mtime, entry });
    return entry;
  }

  /** The comparison models kept beside a model. */
  async comparisonsOf(model: vscode.Uri): Promise<vscode.Uri[]> {
    const found: vscode.Uri[] = [];
    for (const cell of ['rnn_tanh', 'gru'] as const) {
      const u = model.with({ path: comparisonName(model.path, cell) });
      if (await statOrNull(u)) found.push(u);
    }
    return found;
  }

  /**
   * What a model file's header says, reading only the header where the file system allows it (local files; other
   * schemes read the file, as VS Code's file API reads files whole). The weights are checked when the model is used.
   */
  async header(uri: vscode.Uri): Promise<{ summary: ModelHeaderSummary; error: null } | { summary: null; error: string }> {
    try {
      let prefix: Uint8Array, size: number;
      if (uri.scheme === 'file') {
        const fh = await open(uri.fsPath, 'r');
        try {
          size = (await fh.stat()).size;
          const first = new Uint8Array(Math.min(8, size));
          await fh.read(first, 0, first.length, 0);
          const n = Math.min(safetensorsHeaderBytes(first), size);
          prefix = new Uint8Array(n);
          await fh.read(prefix, 0, n, 0);
        } finally {
          await fh.close();
        }
      } else {
        prefix = await this.read(uri);
        size = prefix.length;
      }
      return { summary: describeModelHeader(parseSafetensorsHeader(prefix, size)), error: null };
    } catch (e) {
      return { summary: null, error: (e as Error).message };
    }
  }

  read(uri: vscode.Uri): Thenable<Uint8Array> {
    return vscode.workspace.fs.readFile(uri);
  }

  /** Adds a model outside the models folder to the list. */
  async addOpened(uri: vscode.Uri): Promise<void> {
    const list = this.context.workspaceState.get<string[]>(ModelStore.OPENED_KEY, []);
    if (!list.includes(uri.toString())) await this.context.workspaceState.update(ModelStore.OPENED_KEY, [...list, uri.toString()]);
    this.changed.fire();
  }

  async remove(uri: vscode.Uri): Promise<void> {
    const list = this.context.workspaceState.get<string[]>(ModelStore.OPENED_KEY, []);
    if (list.includes(uri.toString())) {
      await this.context.workspaceState.update(ModelStore.OPENED_KEY, list.filter((s) => s !== uri.toString()));
    } else {
      await vscode.workspace.fs.delete(uri, { useTrash: uri.scheme === 'file' });
    }
    this.summaries.delete(uri.toString());
    this.changed.fire();
  }

  /** A file name in the models folder that does not overwrite an existing model. */
  async freshUri(source: string, cell: string, layers: number, hidden: number): Promise<vscode.Uri> {
    const base = source.replace(/\.[^.]*$/, '').replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'model';
    const stem = `${base}-${cell}-${layers}x${hidden}`;
    for (let n = 1; ; n++) {
      const uri = vscode.Uri.joinPath(this.folder, `${stem}${n === 1 ? '' : `-${n}`}.safetensors`);
      if (!(await statOrNull(uri))) return uri;
    }
  }

  /** Writes atomically: temporary file beside the target, then rename over it. */
  async write(uri: vscode.Uri, bytes: Uint8Array): Promise<void> {
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(uri, '..'));
    await writeAtomically(uri, bytes);
    this.summaries.delete(uri.toString());
    this.changed.fire();
  }

  dispose(): void {
    this.watcher?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

/** A temporary file of an atomic save of a model (ModelStore.write, the CLI's writeFileAtomic). */
const STALE_TMP = /^\..+\.safetensors\.[0-9a-z.]+\.tmp$/;
const STALE_TMP_AGE_MS = 60 * 60 * 1000;

async function statOrNull(uri: vscode.Uri): Promise<vscode.FileStat | null> {
  try {
    return await vscode.workspace.fs.stat(uri);
  } catch {
    return null;
  }
}

/** One line describing a model: "lstm 1×128 · 1,000 steps · loss 1.234". */
export function describeModel(s: Pick<ModelSummary, 'config' | 'info'>): string {
  const c = s.config;
  const parts = [`${c.cell} ${c.layers}×${c.hidden}`];
  if (s.info.steps !== undefined) parts.push(`${s.info.steps.toLocaleString('en-US')} steps`);
  if (s.info.valLoss !== undefined) parts.push(`val ${s.info.valLoss.toFixed(3)}`);
  else if (s.info.loss !== undefined) parts.push(`loss ${s.info.loss.toFixed(3)}`);
  return parts.join(' · ');
}
