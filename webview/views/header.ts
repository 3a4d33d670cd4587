import type { View, ViewContext } from '../context';
import type { Change } from '../store';
import { formatCount, h } from '../dom';

/** What the header reads and calls. */
type HeaderContext = Pick<ViewContext, 'model' | 'traceView' | 'history' | 'status' | 'view' | 'setView' | 'notify'>;

const CELL_NAMES = { lstm: 'LSTM', gru: 'GRU', rnn_tanh: 'RNN (tanh)', rnn_relu: 'RNN (ReLU)' } as const;

/** Model and text facts, the Inspect/Training tabs, and the status line. */
export class Header implements View {
  readonly el = h('header', { class: 'app-header' });
  private readonly model = h('div', { class: 'model-line' });
  private readonly textLine = h('div', { class: 'text-line' });
  private readonly status = h('div', { class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly notices = h('ul', { class: 'notices' });
  private readonly tabs: Record<'inspect' | 'training', HTMLButtonElement>;

  constructor(private readonly ui: HeaderContext) {
    const tab = (id: 'inspect' | 'training', label: string): HTMLButtonElement => {
      const b = h('button', { type: 'button', role: 'tab', id: `tab-${id}`, 'aria-controls': `page-${id}`, class: 'tab' }, label);
      b.addEventListener('click', () => ui.setView({ tab: id }, 'tab'));
      b.addEventListener('keydown', (e) => {
        if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
          const other = id === 'inspect' ? 'training' : 'inspect';
          ui.setView({ tab: other }, 'tab');
          this.tabs[other].focus();
          e.preventDefault();
        }
      });
      return b;
    };
    this.tabs = { inspect: tab('inspect', 'Inspect'), training: tab('training', 'Training') };
    const tablist = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Inspector pages' }, this.tabs.inspect, this.tabs.training);
    this.el.append(h('div', { class: 'header-row' }, h('div', { class: 'facts' }, this.model, this.textLine), tablist), this.status, this.notices);
  }

  update(c: ReadonlySet<Change>): void {
    const ui = this.ui;
    if (c.has('data') || c.has('training')) {
      const m = ui.model;
      const fact = (text: string, hint: string): HTMLElement => h('span', { class: 'chip', title: hint }, text);
      if (m) {
        this.model.replaceChildren(...[
          h('strong', { class: 'model-name' }, m.name),
          fact(`${CELL_NAMES[m.cell]} ${m.layers}×${m.hidden}`, `${m.layers} layer${m.layers === 1 ? '' : 's'} of ${m.hidden} units each; characters enter as vectors of ${m.embed} numbers`),
          fact(`${formatCount(m.parameters)} parameters`, 'numbers the model learned: weights and biases of every layer'),
          fact(`vocabulary ${m.vocabSize}`, `the model knows ${m.vocabSize} distinct characters`),
          m.steps !== null ? fact(`${formatCount(m.steps)} steps`, 'optimisation steps it was trained for') : null,
          m.valLoss !== null ? fact(`val loss ${m.valLoss.toFixed(3)}`, 'validation loss when it was saved: mean cross-entropy on held-out text, nats per character (lower is better)')
            : m.trainLoss !== null ? fact(`train loss ${m.trainLoss.toFixed(3)}`, 'training loss when it was saved: mean cross-entropy, nats per character (lower is better)') : null,
        ].filter((x): x is HTMLElement => x !== null));
      } else {
        this.model.replaceChildren(h('strong', { class: 'model-name' }, ui.history?.title ?? 'Gatescope Inspector'));
      }
      const tv = ui.traceView;
      if (tv) {
        const T = tv.trace.tokens.length;
        const part = tv.first > 0 || T < tv.total ? `characters ${formatCount(tv.first)}–${formatCount(tv.first + T - 1)} of ${formatCount(tv.total)}` : `${formatCount(T)} characters`;
        const loss = tv.trace.loss;
        this.textLine.replaceChildren(h('span', { class: 'doc-name' }, tv.documentName), ' · ',
          h('span', { title: 'the traced characters: one timestep t per character, t = 0 the first' }, part));
        if (Number.isFinite(loss)) {
          this.textLine.append(h('span', { class: 'loss', title: 'Mean cross-entropy of the next-character predictions on this text' },
            ` · loss ${loss.toFixed(3)} nats/char (${(loss / Math.LN2).toFixed(2)} bits)`));
        }
        this.notices.replaceChildren(...tv.notices.map((n) => h('li', {}, n)));
      } else {
        this.textLine.replaceChildren();
        this.notices.replaceChildren();
      }
    }
    if (c.has('tab') || c.has('training') || c.has('data')) {
      for (const [id, b] of Object.entries(this.tabs)) {
        const on = ui.view.tab === id;
        b.setAttribute('aria-selected', String(on));
        b.tabIndex = on ? 0 : -1;
      }
      const h = ui.history;
      const live = h && !h.finished;
      this.tabs.training.classList.toggle('live', !!live);
      this.tabs.training.textContent = live ? `Training · step ${formatCount(h.latest?.step ?? 0)}` : 'Training';
      this.tabs.training.title = live ? `A training run is under way: ${formatCount(h.latest?.step ?? 0)} optimisation steps done of ${formatCount(h.latest?.totalSteps ?? 0)}` : '';
    }
    if (c.has('status')) this.renderStatus();
  }

  private renderStatus(): void {
    const s = this.ui.status;
    this.status.hidden = !s;
    this.status.className = `status ${s?.kind ?? ''}`;
    if (!s) {
      this.status.replaceChildren();
      return;
    }
    const parts: (Node | string)[] = [];
    if (s.kind === 'busy') parts.push(h('span', { class: 'spinner', 'aria-hidden': 'true' }));
    parts.push(h('span', { class: 'status-text' }, s.message));
    if (s.progress !== undefined) {
      const bar = h('progress', { max: 1, value: s.progress, 'aria-label': 'Progress', title: `${Math.round(s.progress * 100)}% done` });
      parts.push(bar);
    }
    if (s.action) {
      const label = s.action === 'cancelCompare' || s.action === 'cancelTrace' ? 'Cancel' : 'Trace again';
      const b = h('button', { type: 'button', class: 'btn-secondary' }, label);
      b.addEventListener('click', () => this.ui.notify({ type: s.action! }));
      parts.push(b);
    }
    this.status.replaceChildren(...parts);
  }
}
