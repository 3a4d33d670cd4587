/** Small DOM helpers: element creation, canvases sized for the device pixel ratio, resize observation. */

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/** Creates an element with attributes (`class`, `aria-*`, …; false/null/undefined are omitted) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Sets a canvas's backing store to css size × devicePixelRatio; returns a context scaled to CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(cssWidth * dpr));
  const hgt = Math.max(1, Math.round(cssHeight * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== hgt) canvas.height = hgt;
  // CSSOM, not a style attribute: allowed by the CSP without 'unsafe-inline'
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Calls `f` when the element's width changes (not on height changes, which the views cause themselves). */
export function onWidthChange(el: Element, f: () => void): void {
  let last = -1;
  new ResizeObserver((entries) => {
    const w = Math.round(entries[entries.length - 1]!.contentRect.width);
    if (w !== last) {
      last = w;
      f();
    }
  }).observe(el);
}

/** Fraction of a canvas's pixels that are not fully transparent (sampled), for "did it draw" checks. */
export function inkOf(canvas: HTMLCanvasElement): number {
  if (canvas.width === 0 || canvas.height === 0) return 0;
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  const step = Math.max(1, Math.floor(data.length / 4 / 200_000));
  let inked = 0, n = 0;
  for (let p = 3; p < data.length; p += 4 * step) {
    n++;
    if (data[p]! > 0) inked++;
  }
  return n ? inked / n : 0;
}

export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '–' : v > 0 ? '∞' : '−∞';
  const a = Math.abs(v);
  if (a === 0) return '0';
  const s = a < 1e-3 || a >= 1e5 ? v.toExponential(digits - 1) : a < 1 ? v.toPrecision(digits) : v.toFixed(digits);
  return s.replace('-', '−');
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
