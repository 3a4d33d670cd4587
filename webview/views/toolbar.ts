import { QUANTITY_NAMES, type Quantity } from '../../src/protocol/webview';
import type { App, Change, View } from '../app';
import { zoomWindow } from '../data/zoom';
import { displayChar } from '../../src/protocol/traceQuery';
import { formatCount, h } from '../dom';

/** Layer, quantity and unit pickers, zoom, and the panel-wide actions. Sticky at the top of the Inspect page. */
export class Toolbar implements View {
  readonly el = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Inspector controls' });
  private readonly layer = h('select', { id: 'layer', 'aria-label': 'Layer' });
  private readonly quantity = h('select', { id: 'quantity', 'aria-label': 'Colour the text and search units by' });
  private readonly unit = h('input', { id: 'unit', type: 'number', min: 0, step: 1, 'aria-label': 'Unit', class: 'unit-input' });
  private readonly windowLabel = h('span', { class: 'window-label', 'aria-live': 'off' });
  private readonly cursorLabel = h('span', { class: 'cursor-label' });

  constructor(private readonly app: App) {
    const field = (label: string, control: HTMLElement): HTMLElement => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);
    const btn = (text: string, aria: string, f: () => void, cls = 'btn-icon'): HTMLButtonElement => {
      const b = h('button', { type: 'button', class: cls, 'aria-label': aria, title: aria }, text);
      b.addEventListener('click', f);
      return b;
    };
    this.layer.addEventListener('change', () => app.setView({ layer: Number(this.layer.value) }, 'layer'));
    this.quantity.addEventListener('change', () => app.setView({ quantity: this.quantity.value as Quantity }, 'quantity'));
    this.unit.addEventListener('change', () => app.selectUnit(Number(this.unit.value)));
    const zoom = (f: number): void => {
      const w = app.window;
      app.setWindow(zoomWindow(w, app.T, f, app.hover ?? app.view.cursor));
    };
    this.el.append(
      field('Layer', this.layer),
      field('Colour by', this.quantity),
      h('div', { class: 'field unit-field' }, h('label', { for: 'unit', class: 'field-label' }, 'Unit'),
        btn('‹', 'Previous unit', () => app.selectUnit(app.view.unit - 1)), this.unit, btn('›', 'Next unit', () => app.selectUnit(app.view.unit + 1)),
        btn('+ plot', 'Plot this unit’s cell state', () => app.togglePlotted(app.view.unit), 'btn-ghost')),
      h('div', { class: 'field zoom' }, h('span', { class: 'field-label' }, 'Zoom'),
        btn('−', 'Zoom out (−)', () => zoom(2)), btn('+', 'Zoom in (+)', () => zoom(0.5)), btn('Fit', 'Show the whole text (0)', () => app.setWindow(null), 'btn-ghost'),
        this.windowLabel),
      this.cursorLabel,
      h('div', { class: 'spacer' }),
      btn('Colour editor text', 'Colour the editor text by this unit (Gatescope: Colour Text by Unit)', () => app.notify({ type: 'colourEditor' }), 'btn-secondary'),
      btn('Export JSON', 'Save the trace as JSON (the CLI’s trace schema)', () => void app.request({ type: 'exportTrace' }), 'btn-secondary'),
    );
    window.addEventListener('keydown', (e) => {
      if ((e.target as HTMLElement).closest('input, select, textarea') || app.view.tab !== 'inspect' || !app.T) return;
      if (e.key === '+' || e.key === '=') zoom(0.5);
      else if (e.key === '-' || e.key === '_') zoom(2);
      else if (e.key === '0') app.setWindow(null);
      else if (e.key === '[') app.setView({ layer: Math.max(0, app.view.layer - 1) }, 'layer');
      else if (e.key === ']') app.setView({ layer: Math.min((app.trace?.layers.length ?? 1) - 1, app.view.layer + 1) }, 'layer');
      else return;
      e.preventDefault();
    });
  }

  update(c: ReadonlySet<Change>): void {
    const app = this.app;
    const tr = app.trace;
    this.el.hidden = app.view.tab !== 'inspect' || !tr;
    if (!tr) return;
    if (c.has('data')) {
      this.layer.replaceChildren(...tr.layers.map((_, k) => h('option', { value: k }, `${k}`)));
      this.quantity.replaceChildren(...app.quantities().map((q) => h('option', { value: q }, `${q} · ${QUANTITY_NAMES[q]}`)));
      this.unit.max = String(tr.hidden - 1);
    }
    if (c.has('data') || c.has('layer')) this.layer.value = String(app.view.layer);
    if (c.has('data') || c.has('quantity')) this.quantity.value = app.view.quantity;
    if (c.has('data') || c.has('unit')) this.unit.value = String(app.view.unit);
    if (c.has('data') || c.has('window')) {
      const w = app.window;
      this.windowLabel.textContent = `t ${formatCount(w.start)}–${formatCount(w.end - 1)}`;
    }
    if (c.has('data') || c.has('cursor')) {
      const t = app.focus;
      this.cursorLabel.textContent = `t = ${formatCount(t)} · ${displayChar(app.chars[t] ?? '')}`;
    }
  }
}
