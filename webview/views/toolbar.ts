import { QUANTITY_NAMES, type Quantity } from '../../src/protocol/webview';
import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { zoomWindow } from '../data/zoom';
import { displayChar } from '../../src/protocol/traceQuery';
import { formatCount, h } from '../dom';

/** What the toolbar reads and calls. */
type ToolbarContext = Pick<ViewContext, 'trace' | 'T' | 'chars' | 'view' | 'window' | 'hover' | 'focus' | 'quantities' | 'setView' | 'selectUnit'
  | 'togglePlotted' | 'setWindow' | 'notify' | 'exportTrace'>;

/** Layer, quantity and unit pickers, zoom, and the panel-wide actions. Sticky at the top of the Inspect page. */
export class Toolbar implements View {
  readonly el = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'Inspector controls' });
  private readonly layer = h('select', { id: 'layer', 'aria-label': 'Layer' });
  private readonly quantity = h('select', { id: 'quantity', 'aria-label': 'Colour the text and search units by' });
  private readonly unit = h('input', { id: 'unit', type: 'number', min: 0, step: 1, 'aria-label': 'Unit', class: 'unit-input' });
  private readonly windowLabel = h('span', { class: 'window-label', 'aria-live': 'off', title: 'The timesteps shown: positions t of the first and last characters in view' });
  private readonly cursorLabel = h('span', { class: 'cursor-label', title: 'The cursor: its position t in the traced text (t = 0 the first character) and its character' });

  constructor(private readonly ui: ToolbarContext) {
    const field = (label: string, control: HTMLElement): HTMLElement => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), control);
    const btn = (text: string, aria: string, f: () => void, cls = 'btn-icon'): HTMLButtonElement => {
      const b = h('button', { type: 'button', class: cls, 'aria-label': aria, title: aria }, text);
      b.addEventListener('click', f);
      return b;
    };
    this.layer.addEventListener('change', () => ui.setView({ layer: Number(this.layer.value) }, 'layer'));
    this.quantity.addEventListener('change', () => ui.setView({ quantity: this.quantity.value as Quantity }, 'quantity'));
    this.unit.addEventListener('change', () => ui.selectUnit(Number(this.unit.value)));
    const zoom = (f: number): void => {
      const w = ui.window;
      ui.setWindow(zoomWindow(w, ui.T, f, ui.hover ?? ui.view.cursor));
    };
    this.el.append(
      field('Layer', this.layer),
      field('Colour by', this.quantity),
      h('div', { class: 'field unit-field' }, h('label', { for: 'unit', class: 'field-label' }, 'Unit'),
        btn('‹', 'Previous unit', () => ui.selectUnit(ui.view.unit - 1)), this.unit, btn('›', 'Next unit', () => ui.selectUnit(ui.view.unit + 1)),
        btn('+ plot', 'Plot this unit’s cell state', () => ui.togglePlotted(ui.view.unit), 'btn-ghost')),
      h('div', { class: 'field zoom' }, h('span', { class: 'field-label' }, 'Zoom'),
        btn('−', 'Zoom out (−)', () => zoom(2)), btn('+', 'Zoom in (+)', () => zoom(0.5)), btn('Fit', 'Show the whole text (0)', () => ui.setWindow(null), 'btn-ghost'),
        this.windowLabel),
      this.cursorLabel,
      h('div', { class: 'spacer' }),
      btn('Colour editor text', 'Colour the editor text by this unit (Gatescope: Colour Text by Unit)', () => ui.notify({ type: 'colourEditor' }), 'btn-secondary'),
      btn('Export Trace', 'Save the trace as JSON or safetensors (the formats of the CLI’s gatescope trace --out)', () => void ui.exportTrace(), 'btn-secondary'),
    );
    window.addEventListener('keydown', (e) => {
      if ((e.target as HTMLElement).closest('input, select, textarea') || ui.view.tab !== 'inspect' || !ui.T) return;
      if (e.key === '+' || e.key === '=') zoom(0.5);
      else if (e.key === '-' || e.key === '_') zoom(2);
      else if (e.key === '0') ui.setWindow(null);
      else if (e.key === '[') ui.setView({ layer: Math.max(0, ui.view.layer - 1) }, 'layer');
      else if (e.key === ']') ui.setView({ layer: Math.min((ui.trace?.layers.length ?? 1) - 1, ui.view.layer + 1) }, 'layer');
      else return;
      e.preventDefault();
    });
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    const tr = ui.trace;
    this.el.hidden = ui.view.tab !== 'inspect' || !tr;
    if (!tr) return;
    if (c.has('data')) {
      this.layer.replaceChildren(...tr.layers.map((_, k) => h('option', { value: k }, `${k}`)));
      this.quantity.replaceChildren(...ui.quantities().map((q) => h('option', { value: q }, `${q} · ${QUANTITY_NAMES[q]}`)));
      this.unit.max = String(tr.hidden - 1);
    }
    if (c.has('data') || c.has('layer')) this.layer.value = String(ui.view.layer);
    if (c.has('data') || c.has('quantity')) this.quantity.value = ui.view.quantity;
    if (c.has('data') || c.has('unit')) this.unit.value = String(ui.view.unit);
    if (c.has('data') || c.has('window')) {
      const w = ui.window;
      this.windowLabel.textContent = `t ${formatCount(w.start)}–${formatCount(w.end - 1)}`;
    }
    if (c.has('data') || c.has('cursor')) {
      const t = ui.focus;
      this.cursorLabel.textContent = `t = ${formatCount(t)} · ${displayChar(ui.chars[t] ?? '')}`;
    }
  }
}
