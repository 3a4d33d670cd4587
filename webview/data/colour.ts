/**
 * Colours as numbers: parsing the CSS colours VS Code themes give, ramps (lookup tables) for the heatmaps
 * and the text strip, and bins for editor decorations. Pure (no DOM), unit-tested in Node.
 */
export type Rgb = readonly [number, number, number];
export type ThemeKind = 'dark' | 'light' | 'high-contrast' | 'high-contrast-light';

/** Parses #rgb, #rgba, #rrggbb, #rrggbbaa, rgb() and rgba(); alpha is dropped. Null when it cannot. */
export function parseColour(css: string): Rgb | null {
  const s = css.trim().toLowerCase();
  let m = /^#([0-9a-f]{3,8})$/.exec(s);
  if (m) {
    const h = m[1]!;
    if (h.length === 3 || h.length === 4) return [0, 1, 2].map((i) => parseInt(h[i]! + h[i]!, 16)) as unknown as Rgb;
    if (h.length === 6 || h.length === 8) return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)) as unknown as Rgb;
    return null;
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/.exec(s);
  if (m) return [Number(m[1]), Number(m[2]), Number(m[3])].map((x) => Math.max(0, Math.min(255, Math.round(x)))) as unknown as Rgb;
  return null;
}

export function mixRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t].map(Math.round) as unknown as Rgb;
}

export function rgbCss(c: Rgb, alpha = 1): string {
  return alpha >= 1 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${alpha})`;
}

/** WCAG relative luminance. */
export function luminance(c: Rgb): number {
  const lin = (v: number): number => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
}

/** WCAG contrast ratio (1 to 21). */
export function contrast(a: Rgb, b: Rgb): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

/** Of two text colours, the one that reads better on `bg`. */
export function readableOn(bg: Rgb, first: Rgb, second: Rgb): Rgb {
  return contrast(bg, first) >= contrast(bg, second) ? first : second;
}

/** Colour stops: position in [0, 1] and colour. */
export type Stops = readonly (readonly [number, Rgb])[];

/** An n-entry RGBA lookup table sampled from piecewise-linear stops (alpha 255). */
export function buildLut(stops: Stops, n = 256): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(n * 4);
  for (let k = 0; k < n; k++) {
    const x = n === 1 ? 0 : k / (n - 1);
    let s = 0;
    while (s < stops.length - 2 && x > stops[s + 1]![0]) s++;
    const [x0, c0] = stops[s]!;
    const [x1, c1] = stops[Math.min(s + 1, stops.length - 1)]!;
    const c = mixRgb(c0, c1, x1 > x0 ? Math.max(0, Math.min(1, (x - x0) / (x1 - x0))) : 0);
    lut.set([c[0], c[1], c[2], 255], k * 4);
  }
  return lut;
}

/** The LUT entry of value v on [lo, hi] (clamped); NaN maps to −1. */
export function lutIndex(v: number, lo: number, hi: number, n = 256): number {
  if (Number.isNaN(v)) return -1;
  const x = (v - lo) / (hi - lo);
  return x <= 0 ? 0 : x >= 1 ? n - 1 : Math.round(x * (n - 1));
}

/** The two ramps of a theme: sequential for [0, 1] σ gates and diverging for [−1, 1] (zero = the background). */
export interface Palette {
  readonly sequential: Stops;
  readonly diverging: Stops;
}

/**
 * Ramps that start from the editor background, so that "nothing" looks like the page and strong values stand
 * out: on dark themes a viridis-like ramp to light yellow, on light themes ColorBrewer Blues; diverging blue ←
 * background → orange/red (RdBu on light themes).
 */
export function paletteFor(kind: ThemeKind, bg: Rgb): Palette {
  const dark = kind === 'dark' || kind === 'high-contrast';
  if (dark) {
    return {
      sequential: [[0, bg], [0.25, [35, 64, 122]], [0.5, [45, 127, 184]], [0.75, [79, 185, 159]], [1, [242, 212, 92]]],
      diverging: [[0, [102, 170, 255]], [0.25, [46, 86, 150]], [0.5, bg], [0.75, [156, 70, 40]], [1, [255, 148, 102]]],
    };
  }
  return {
    sequential: [[0, bg], [0.25, [198, 219, 239]], [0.5, [107, 174, 214]], [0.75, [33, 113, 181]], [1, [8, 48, 107]]],
    diverging: [[0, [33, 102, 172]], [0.25, [146, 197, 222]], [0.5, bg], [0.75, [244, 165, 130]], [1, [178, 24, 43]]],
  };
}

/**
 * The VS Code theme as the views need it: colours read from the CSS variables VS Code sets on the webview,
 * ramps built from them, and the theme kind from the body's class (read by theme.ts; re-read whenever VS Code
 * switches themes). Declared here, without the DOM, so that the store and its tests can hold one.
 */
export interface Theme {
  readonly kind: ThemeKind;
  readonly bg: Rgb;
  readonly fg: string;
  readonly fgRgb: Rgb;
  readonly muted: string;
  readonly border: string;
  readonly grid: string;
  readonly accent: string;
  readonly cursor: string;
  readonly selection: string;
  /** Outlines the unit search's matches in the text strip, as the editor outlines find matches. */
  readonly match: string;
  readonly font: string;
  readonly mono: string;
  readonly monoSize: number;
  /** Distinct series colours (charts.* theme colours first). */
  readonly series: readonly string[];
  readonly palette: Palette;
  readonly luts: { readonly sequential: Uint8ClampedArray; readonly diverging: Uint8ClampedArray };
  /** For each LUT entry, the text colour that reads best on it. */
  readonly inks: { readonly sequential: readonly string[]; readonly diverging: readonly string[] };
}
