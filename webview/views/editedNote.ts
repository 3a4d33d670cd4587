import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { seriesNote } from '../data/edited';
import { h } from '../dom';

/** What the note reads. */
type EditedNoteContext = Pick<ViewContext, 'trace' | 'view' | 'editedAt'>;

/**
 * One line over the heatmaps and trajectories while the cursor's step is edited in the debugger (Set Value): they
 * keep the unedited trace, which a whole time series is; only the views of one step show the edited values.
 */
export class EditedNote implements View {
  readonly el = h('div', { class: 'status notice edited-note', role: 'note', hidden: true });

  constructor(private readonly ui: EditedNoteContext) {}

  update(c: ReadonlySet<Change>): void {
    if (!(c.has('debug') || c.has('cursor') || c.has('data'))) return;
    const t = this.ui.view.cursor;
    const on = !!this.ui.trace && this.ui.editedAt(t) !== null;
    this.el.hidden = !on;
    this.el.textContent = on ? `✎ ${seriesNote(t)}` : '';
  }
}
