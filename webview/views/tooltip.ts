import type { Tip } from '../context';
import { h } from '../dom';

/** The floating tooltip shared by the canvases: positioned next to the mouse, kept inside the window. */
export class Tooltip implements Tip {
  readonly el = h('div', { class: 'tooltip', role: 'tooltip', hidden: true });

  show(content: Node, clientX: number, clientY: number): void {
    this.el.replaceChildren(content);
    this.el.hidden = false;
    const r = this.el.getBoundingClientRect();
    const pad = 14;
    let x = clientX + pad, y = clientY + pad;
    if (x + r.width > window.innerWidth - 4) x = clientX - r.width - pad;
    if (y + r.height > window.innerHeight - 4) y = clientY - r.height - pad;
    // CSSOM, which the CSP allows (no style attributes in markup)
    this.el.style.left = `${Math.max(4, x)}px`;
    this.el.style.top = `${Math.max(4, y)}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
