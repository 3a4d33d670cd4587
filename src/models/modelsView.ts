import * as vscode from 'vscode';
import { describeModel, type ModelEntry, type ModelStore } from './modelStore';
import { comparedModel } from './provenance';
import { Commands } from '../host/ids';

/** The "Models" tree in the Gatescope view container: each model with its cell, size, steps and loss. */
export class ModelsView implements vscode.TreeDataProvider<ModelEntry>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;
  /** What the tree last showed, for tests. */
  lastShown: readonly ModelEntry[] = [];
  /** The run in progress: its model is shown with its step and loss, before its first checkpoint too. */
  private training: { model: vscode.Uri; step: number; total: number; loss: number | null } | null = null;

  constructor(private readonly store: ModelStore) {
    this.sub = store.onDidChange(() => this.changed.fire());
  }

  refresh(): void {
    this.changed.fire();
  }

  /** Shows (or, with null, stops showing) the run in progress. */
  setTraining(run: { model: vscode.Uri; step: number; total: number; loss: number | null } | null): void {
    const was = this.training;
    this.training = run;
    // a progress report changes one line: redraw every 10 steps, and when the run changes
    if (!run || !was || was.model.toString() !== run.model.toString() || Math.floor(was.step / 10) !== Math.floor(run.step / 10)) this.changed.fire();
  }

  async getChildren(element?: ModelEntry): Promise<ModelEntry[]> {
    if (element) return Promise.all((element.comparisons ?? []).map((u) => this.store.entry(u)));
    this.lastShown = await this.store.list();
    const t = this.training;
    // the model being trained first, also before its first checkpoint exists
    const rest = t ? this.lastShown.filter((e) => e.uri.toString() !== t.model.toString()) : this.lastShown;
    return t ? [{ uri: t.model, summary: null, error: null }, ...rest] : [...rest];
  }

  getTreeItem(e: ModelEntry): vscode.TreeItem {
    const name = e.uri.path.split('/').pop()!;
    const t = this.training;
    if (t && t.model.toString() === e.uri.toString() && e.comparisons === undefined) {
      const item = new vscode.TreeItem(name.replace(/\.safetensors$/, ''), vscode.TreeItemCollapsibleState.None);
      item.id = `training:${e.uri.toString()}`;
      item.resourceUri = e.uri;
      item.iconPath = new vscode.ThemeIcon('sync~spin');
      item.description = `training · step ${t.step.toLocaleString('en-US')} of ${t.total.toLocaleString('en-US')}${t.loss !== null && Number.isFinite(t.loss) ? ` · loss ${t.loss.toFixed(3)}` : ''}`;
      item.tooltip = 'Training now: click for the live dashboard. Stop it from the view\'s title bar.';
      item.contextValue = 'gatescope.trainingModel';
      item.command = { command: Commands.watchTraining, title: 'Show Training Dashboard' };
      return item;
    }
    const comparison = e.comparisons === undefined ? comparedModel(name) : null;
    const label = comparison ? `${comparison.cell === 'gru' ? 'GRU' : 'RNN'} comparison` : name.replace(/\.safetensors$/, '');
    const item = new vscode.TreeItem(label, e.comparisons?.length ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.resourceUri = e.uri;
    item.id = e.uri.toString();
    item.contextValue = comparison ? 'gatescope.comparison' : e.summary ? 'gatescope.model' : 'gatescope.brokenModel';
    if (e.summary) {
      const s = e.summary;
      const c = s.config;
      item.description = describeModel(s) + (comparison && s.info.comparisonOf && !s.info.comparisonOf.likeForLike ? ' · not like for like' : '');
      item.iconPath = new vscode.ThemeIcon(comparison ? 'git-compare' : c.cell === 'lstm' ? 'circuit-board' : 'pulse');
      const md = new vscode.MarkdownString();
      md.appendMarkdown(`**${name}**\n\n`);
      md.appendMarkdown(`| | |\n|---|---|\n`);
      md.appendMarkdown(`| cell | ${c.cell} (${c.cell === 'lstm' ? 'gates i, f, g, o' : c.cell === 'gru' ? 'gates r, z, n' : c.cell === 'rnn_relu' ? 'ReLU' : 'tanh'}) |\n`);
      md.appendMarkdown(`| size | ${c.layers} layer${c.layers > 1 ? 's' : ''} × ${c.hidden} hidden, embedding ${c.embed} |\n`);
      md.appendMarkdown(`| vocabulary | ${c.vocabSize} characters |\n`);
      md.appendMarkdown(`| parameters | ${s.parameters.toLocaleString('en-US')} |\n`);
      if (s.info.steps !== undefined) md.appendMarkdown(`| steps | ${s.info.steps.toLocaleString('en-US')} |\n`);
      if (s.info.loss !== undefined) md.appendMarkdown(`| loss | ${s.info.loss.toFixed(4)} nats/char |\n`);
      if (s.info.valLoss !== undefined) md.appendMarkdown(`| validation loss | ${s.info.valLoss.toFixed(4)} nats/char |\n`);
      if (s.info.source) md.appendMarkdown(`| trained on | ${escapeMd(s.info.source)} |\n`);
      if (s.info.textHash) md.appendMarkdown(`| text SHA-256 | \`${s.info.textHash.slice(0, 16)}…\` |\n`);
      if (comparison) md.appendMarkdown(`| compares with | ${escapeMd(comparison.model.split('/').pop()!)}${s.info.comparisonOf?.likeForLike ? ', on its training text' : ''} |\n`);
      md.appendMarkdown(`| resumable | ${s.resumableFrom !== null ? `yes, from step ${s.resumableFrom}` : 'no (weights only)'} |\n`);
      item.tooltip = md;
      item.command = { command: Commands.showModel, title: 'Show Model', arguments: [e.uri] };
    } else {
      item.description = 'cannot be read';
      item.iconPath = new vscode.ThemeIcon('warning');
      item.tooltip = e.error ?? undefined;
    }
    return item;
  }

  dispose(): void {
    this.sub.dispose();
    this.changed.dispose();
  }
}

function escapeMd(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, '\\$&');
}
