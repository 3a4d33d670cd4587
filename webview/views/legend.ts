import type { Quantity } from '../../src/protocol/webview';
import type { ViewContext } from '../context';
import { h, sizeCanvas } from '../dom';

/** What the colour bar reads and calls. */
export type LegendContext = Pick<ViewContext, 'theme' | 'scaleOf' | 'rampOf'>;

/** A colour bar with its range: "[0, 1]" for σ gates, "[−1, 1]" for g and h, "unbounded · ±s" for c. */
export class Legend {
  readonly el = h('span', { class: 'legend' });
  private readonly bar = h('canvas', { class: 'legend-bar', 'aria-hidden': 'true' });
  private readonly lo = h('span', { class: 'legend-lo' });
  private readonly hi = h('span', { class: 'legend-hi' });
  private readonly label = h('span', { class: 'legend-label' });

  constructor(private readonly ui: LegendContext) {
    this.el.append(this.lo, this.bar, this.hi, this.label);
  }

  /** The bar of a quantity's scale, or with `saliency` the strip's saliency scale (4 decades below the largest). */
  render(q: Quantity, saliency = false): void {
    const s = saliency ? { lo: 0, hi: 1, label: 'saliency: log10, 4 decades up to the largest' } : this.ui.scaleOf(q);
    const { lut } = this.ui.rampOf(saliency ? 'f' : q);
    const w = 96, hgt = 10;
    const ctx = sizeCanvas(this.bar, w, hgt);
    const n = lut.length / 4;
    for (let x = 0; x < w; x++) {
      const k = Math.round((x / (w - 1)) * (n - 1)) * 4;
      ctx.fillStyle = `rgb(${lut[k]}, ${lut[k + 1]}, ${lut[k + 2]})`;
      ctx.fillRect(x, 0, 1, hgt);
    }
    ctx.strokeStyle = this.ui.theme.border;
    ctx.strokeRect(0.5, 0.5, w - 1, hgt - 1);
    const fmt = (v: number): string => (Math.abs(v) >= 10 ? v.toFixed(0) : Number(v.toPrecision(2)).toString()).replace('-', '−');
    this.lo.textContent = saliency ? '10⁻⁴' : fmt(s.lo);
    this.hi.textContent = saliency ? 'max' : fmt(s.hi);
    this.label.textContent = saliency || s.label.startsWith('unbounded') ? s.label : `${q} ∈ ${s.label}`;
    this.el.setAttribute('aria-label', `colour scale of ${q}: ${s.label}`);
    this.el.title = saliency ? 'Colour scale of the saliency: how much the prediction depends on each character, log scale, 4 decades below the largest'
      : `Colour scale of ${q}: ${s.label.startsWith('unbounded') ? s.label : `the colours go from ${fmt(s.lo)} to ${fmt(s.hi)}`}`;
  }
}
