import { displayChar, probabilityOfActual, topPredictions, unitReadout } from '../../src/protocol/traceQuery';
import { QUANTITY_NAMES, quantityRange } from '../../src/protocol/webview';
import type { ViewContext } from '../context';
import { editedMark, editedReadout } from '../data/edited';
import { formatCount, formatNumber, h } from '../dom';

/** What the cursor details read and calls. */
export type DetailsContext = Pick<ViewContext, 'trace' | 'chars' | 'view' | 'scaleOf' | 'editedAt'>;

/**
 * What the text strip's tooltip and the Cursor card show for a timestep: the character, how likely the model
 * found it, every quantity of the selected unit with a small bar, and the top-5 next-character predictions. At the
 * debugger's step after Set Value: the debugger's values, under a mark that says so.
 */
export function cursorDetails(ui: DetailsContext, t: number, compact = false): HTMLElement {
  const tr = ui.trace!;
  const ch = ui.chars[t] ?? '';
  const edited = ui.editedAt(t);
  const p = edited ? edited.pChar : probabilityOfActual(tr, t);
  const head = h('div', { class: 'd-head' },
    h('span', { class: 'd-char' }, displayChar(ch)),
    h('span', { class: 'd-t' }, `t = ${formatCount(t)}`),
    p !== null ? h('span', { class: 'd-p', title: `p(${displayChar(ch)}): the probability the model gave ${JSON.stringify(ch)}, the character that actually came here, ` +
      'when it had read the text before it' }, `p(${displayChar(ch)}) = ${p.toFixed(3)}`) : null);
  const readout = edited ? editedReadout(tr.cell, edited, ui.view.layer, ui.view.unit) : unitReadout(tr, ui.view.layer, ui.view.unit, t);
  const rows = readout.map(({ q, value }) => {
    const r = quantityRange(q, ui.trace?.cell) ?? { lo: -ui.scaleOf('c').hi, hi: ui.scaleOf('c').hi };
    const zero = r.lo < 0 ? 0.5 : 0;
    const frac = Math.max(0, Math.min(1, (value - r.lo) / (r.hi - r.lo)));
    const bar = h('span', { class: 'd-bar' }, h('span', { class: `d-fill ${value < 0 ? 'neg' : 'pos'}` }));
    const fill = bar.firstElementChild as HTMLElement;
    fill.style.left = `${Math.min(zero, frac) * 100}%`;
    fill.style.width = `${Math.abs(frac - zero) * 100}%`;
    return h('div', { class: `d-row${q === ui.view.quantity ? ' current' : ''}`, title: `${q}: ${QUANTITY_NAMES[q]} of unit ${ui.view.unit} after reading t = ${t}` },
      h('span', { class: 'd-q' }, q), bar, h('span', { class: 'd-v' }, formatNumber(value, 3)));
  });
  const preds = edited ? edited.top.slice(0, 5) : topPredictions(tr, t, 5);
  const next = ui.chars[t + 1];
  const predRows = preds.map(({ char, p: q }) => {
    const bar = h('span', { class: 'd-bar' }, h('span', { class: 'd-fill pred' }));
    (bar.firstElementChild as HTMLElement).style.width = `${q * 100}%`;
    return h('div', { class: `d-row${char === next ? ' actual' : ''}`,
      title: `p(next = ${displayChar(char)}) = ${q.toFixed(3)}: the probability the model gives ${JSON.stringify(char)} as the next character${char === next ? ' (it is the one that came)' : ''}` },
      h('span', { class: 'd-q mono' }, displayChar(char)), bar, h('span', { class: 'd-v' }, q.toFixed(3)));
  });
  const mark = edited ? h('div', { class: 'status notice edited-mark', role: 'note' }, h('span', { class: 'status-text' }, `✎ ${editedMark(edited)}`)) : null;
  return h('div', { class: `details${compact ? ' compact' : ''}${edited ? ' edited' : ''}` },
    head, mark,
    h('div', { class: 'd-section' }, h('div', { class: 'd-label' }, `unit ${ui.view.unit} · layer ${ui.view.layer}: its values at t`), ...rows),
    h('div', { class: 'd-section' }, h('div', { class: 'd-label' }, 'next character: the model\'s top 5, with their probabilities'), ...predRows));
}
