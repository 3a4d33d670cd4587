import { h } from '../dom';

/** A titled section: header (title, a subtitle, action buttons) above a body. */
export interface Card {
  readonly el: HTMLElement;
  readonly title: HTMLElement;
  readonly subtitle: HTMLElement;
  readonly actions: HTMLElement;
  readonly body: HTMLElement;
}

export function card(id: string, title: string, className = ''): Card {
  const titleEl = h('h2', { class: 'card-title', id: `${id}-title` }, title);
  const subtitle = h('span', { class: 'card-subtitle' });
  const actions = h('div', { class: 'card-actions' });
  const body = h('div', { class: 'card-body' });
  const el = h('section', { class: `card ${className}`.trim(), id, 'aria-labelledby': `${id}-title` },
    h('header', { class: 'card-head' }, h('div', { class: 'card-heading' }, titleEl, subtitle), actions), body);
  return { el, title: titleEl, subtitle, actions, body };
}

/** A small text button in a card header. */
export function button(label: string, aria: string, onClick: () => void, className = 'btn-ghost'): HTMLButtonElement {
  const b = h('button', { type: 'button', class: className, 'aria-label': aria, title: aria }, label);
  b.addEventListener('click', onClick);
  return b;
}
