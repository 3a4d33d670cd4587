import type { App, Change, View } from '../app';
import { h } from '../dom';
import { card } from './card';
import { cursorDetails } from './details';

/** The Cursor card: everything about the highlighted timestep and the selected unit. */
export class Readout implements View {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;

  constructor(private readonly app: App) {
    const c = card('readout', 'Cursor');
    this.el = c.el;
    this.body = c.body;
    c.subtitle.textContent = '← → step · ↑ ↓ unit';
    this.body.append(h('p', { class: 'hint' }, 'Hover or click the text or any chart.'));
  }

  update(c: ReadonlySet<Change>): void {
    if (!this.app.trace) return;
    if (c.has('data') || c.has('cursor') || c.has('unit') || c.has('layer') || c.has('quantity') || c.has('theme')) {
      this.body.replaceChildren(cursorDetails(this.app, this.app.focus));
    }
  }
}
