import * as vscode from 'vscode';
import { robustMaxAbs } from '../protocol/traceQuery';
import { quantityValues } from '../protocol/webview';
import { binIndex, binScheme } from './colourBins';
import { hoverMarkdown } from './hoverText';
import type { InspectorPanel } from './inspectorPanel';
import { ContextKeys } from '../host/ids';

/** Lines beyond the visible ones that are coloured too, so that scrolling a little shows colours at once. */
const MARGIN_LINES = 40;

/**
 * "Colour Text by Unit": paints the selected unit's values (the inspector's layer, unit and quantity) onto the
 * editor text as a few binned background colours, for the visible lines only, and follows scrolling and the
 * inspector's choices. A hover on coloured text shows what the inspector's text strip shows.
 */
export class UnitColouring implements vscode.Disposable {
  private readonly active = new Set<InspectorPanel>();
  /** What each panel's colours show (layer, unit, quantity, trace). */
  private readonly shown = new WeakMap<InspectorPanel, string>();
  private readonly types = new Map<string, vscode.TextEditorDecorationType>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.disposables.push(
      vscode.window.onDidChangeTextEditorVisibleRanges((e) => this.schedule(e.textEditor.document.uri.toString())),
      vscode.window.onDidChangeVisibleTextEditors(() => this.schedule(null)),
      vscode.languages.registerHoverProvider('*', { provideHover: (doc, pos) => this.hover(doc, pos) }),
    );
  }

  /** Shows the colours of a panel on its document (replacing another panel's on the same document). */
  activate(p: InspectorPanel): void {
    for (const other of [...this.active]) if (other !== p && other.target.document === p.target.document) this.active.delete(other);
    this.active.add(p);
    void vscode.commands.executeCommand('setContext', ContextKeys.unitColoursShown, true);
    this.paint(p);
  }

  /**
   * Repaints when what the colours show changed (not for every cursor move the view state reports), or always
   * after a new trace (`retraced`).
   */
  refresh(p: InspectorPanel, retraced = false): void {
    if (!this.active.has(p)) return;
    const v = p.view;
    if (!retraced && this.shown.get(p) === `${v?.layer}|${v?.unit}|${v?.quantity}`) return;
    this.paint(p);
  }

  forget(p: InspectorPanel): void {
    if (!this.active.delete(p)) return;
    this.clearDocument(p.target.document);
  }

  clear(): void {
    for (const p of this.active) this.clearDocument(p.target.document);
    this.active.clear();
    void vscode.commands.executeCommand('setContext', ContextKeys.unitColoursShown, false);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
    for (const t of this.types.values()) t.dispose();
    this.types.clear();
    this.active.clear();
  }

  private schedule(uri: string | null): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      for (const p of this.active) if (uri === null || p.target.document === uri) this.paint(p);
    }, 40);
  }

  private typeFor(colour: string): vscode.TextEditorDecorationType {
    let t = this.types.get(colour);
    if (!t) {
      t = vscode.window.createTextEditorDecorationType({ backgroundColor: colour, rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed });
      this.types.set(colour, t);
    }
    return t;
  }

  private clearDocument(uri: string | null): void {
    for (const editor of vscode.window.visibleTextEditors) {
      if (editor.document.uri.toString() !== uri) continue;
      for (const t of this.types.values()) editor.setDecorations(t, []);
    }
  }

  private paint(p: InspectorPanel): void {
    const trace = p.trace, offsets = p.offsets;
    if (!trace || !offsets) return;
    const v = p.view;
    const layer = Math.min(v?.layer ?? 0, trace.layers.length - 1);
    const unit = Math.min(v?.unit ?? 0, trace.hidden - 1);
    const q = v?.quantity ?? 'h';
    const L = trace.layers[layer]!;
    const values = quantityValues(L, q) ?? L.h;
    const scheme = binScheme(q, L.c ? robustMaxAbs(L.c) : q === 'h' ? robustMaxAbs(L.h) || 1 : 1, trace.cell);
    const H = trace.hidden;
    this.shown.set(p, `${v?.layer}|${v?.unit}|${v?.quantity}`);
    for (const editor of vscode.window.visibleTextEditors) {
      const doc = editor.document;
      if (doc.uri.toString() !== p.target.document) continue;
      const byColour = new Map<string, vscode.Range[]>();
      for (const visible of editor.visibleRanges) {
        const from = doc.offsetAt(new vscode.Position(Math.max(0, visible.start.line - MARGIN_LINES), 0));
        const to = doc.offsetAt(new vscode.Position(visible.end.line + MARGIN_LINES, 0));
        const steps = offsets.stepsIn(from, Math.max(to, from + 1));
        if (!steps) continue;
        for (let t = steps.start; t < steps.end; t++) {
          const colour = scheme.colours[binIndex(values[t * H + unit]!, scheme.lo, scheme.hi, scheme.colours.length)];
          if (!colour) continue;
          const r = offsets.rangeOf(t);
          const list = byColour.get(colour) ?? [];
          list.push(new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end)));
          byColour.set(colour, list);
        }
      }
      for (const c of scheme.colours) if (c) this.typeFor(c);
      for (const [colour, type] of this.types) editor.setDecorations(type, byColour.get(colour) ?? []);
    }
  }

  private hover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const uri = doc.uri.toString();
    for (const p of this.active) {
      if (p.target.document !== uri || !p.trace || !p.offsets) continue;
      const t = p.offsets.stepAt(doc.offsetAt(pos));
      if (t === null) continue;
      const v = p.view;
      const trace = p.trace;
      const layer = Math.min(v?.layer ?? 0, trace.layers.length - 1);
      const md = new vscode.MarkdownString(hoverMarkdown(trace, layer, Math.min(v?.unit ?? 0, trace.hidden - 1), v?.quantity ?? 'h', t));
      const r = p.offsets.rangeOf(t);
      return new vscode.Hover(md, new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end)));
    }
    return undefined;
  }
}
