import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { h } from '../dom';
import { card } from './card';
import { cursorDetails, type DetailsContext } from './details';

/** What the Cursor card reads and calls. */
type ReadoutContext = DetailsContext & Pick<ViewContext, 'trace' | 'focus'>;

/** The Cursor card: everything about the highlighted timestep and the selected unit. */
export class Readout implements View {
  readonly el: HTMLElement;
  private readonly body: HTMLElement;

  constructor(private readonly ui: ReadoutContext) {
    const c = card('readout', 'Cursor');
    this.el = c.el;
    this.body = c.body;
    c.subtitle.textContent = '← → step · ↑ ↓ unit';
    this.body.append(h('p', { class: 'hint' }, 'Hover or click the text or any chart.'));
  }

  update(c: ReadonlySet<Change>): void {
    if (!this.ui.trace) return;
    if (c.has('data') || c.has('cursor') || c.has('unit') || c.has('layer') || c.has('quantity') || c.has('theme') || c.has('debug')) {
      this.body.replaceChildren(cursorDetails(this.ui, this.ui.focus));
    }
  }
}
