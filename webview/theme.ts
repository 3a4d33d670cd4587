import { buildLut, contrast, paletteFor, parseColour, readableOn, rgbCss, type Rgb, type Theme, type ThemeKind } from './data/colour';

/** The theme kind, from the class VS Code sets on the body. */
export function themeKind(): ThemeKind {
  const c = document.body.classList;
  if (c.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (c.contains('vscode-high-contrast')) return 'high-contrast';
  if (c.contains('vscode-light')) return 'light';
  return 'dark';
}

/** The VS Code theme (data/colour.ts Theme), read from the CSS variables VS Code sets on the webview. */
export function readTheme(): Theme {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback;
  const kind = themeKind();
  const dark = kind === 'dark' || kind === 'high-contrast';
  const bgCss = v('--vscode-editor-background', dark ? '#1f1f1f' : '#ffffff');
  const bg = parseColour(bgCss) ?? (dark ? [31, 31, 31] : [255, 255, 255]);
  const fg = v('--vscode-editor-foreground', v('--vscode-foreground', dark ? '#cccccc' : '#3b3b3b'));
  const fgRgb = parseColour(fg) ?? (dark ? [204, 204, 204] : [59, 59, 59]);
  const palette = paletteFor(kind, bg);
  const luts = { sequential: buildLut(palette.sequential), diverging: buildLut(palette.diverging) };
  const black: Rgb = [20, 20, 20], white: Rgb = [250, 250, 250];
  const inksOf = (lut: Uint8ClampedArray): string[] => {
    const out: string[] = [];
    for (let k = 0; k < lut.length / 4; k++) {
      const c: Rgb = [lut[k * 4]!, lut[k * 4 + 1]!, lut[k * 4 + 2]!];
      // the theme's own text colour wherever it reads well (near zero), else black or white
      out.push(contrastOk(c, fgRgb) ? fg : rgbCss(readableOn(c, black, white)));
    }
    return out;
  };
  return {
    kind, bg, fg, fgRgb,
    muted: v('--vscode-descriptionForeground', dark ? '#9d9d9d' : '#717171'),
    border: v('--vscode-widget-border', v('--vscode-panel-border', dark ? '#3c3c3c' : '#e5e5e5')),
    grid: v('--vscode-charts-lines', dark ? 'rgba(204,204,204,0.5)' : 'rgba(59,59,59,0.5)'),
    accent: v('--vscode-focusBorder', dark ? '#0078d4' : '#005fb8'),
    cursor: v('--vscode-editorCursor-foreground', dark ? '#aeafad' : '#000000'),
    selection: v('--vscode-editor-selectionBackground', dark ? '#264f78' : '#add6ff'),
    match: v('--vscode-editor-findMatchBorder', v('--vscode-charts-yellow', dark ? '#cca700' : '#bf8803')),
    font: v('--vscode-font-family', 'system-ui, sans-serif'),
    mono: v('--vscode-editor-font-family', 'monospace'),
    monoSize: parseFloat(v('--vscode-editor-font-size', '13')) || 13,
    series: [
      v('--vscode-charts-blue', '#3794ff'), v('--vscode-charts-orange', '#d18616'), v('--vscode-charts-green', '#89d185'),
      v('--vscode-charts-purple', '#b180d7'), v('--vscode-charts-red', '#f14c4c'), v('--vscode-charts-yellow', '#cca700'),
      dark ? '#4ec9b0' : '#00877a', dark ? '#f48fb1' : '#c2185b',
    ],
    palette, luts,
    inks: { sequential: inksOf(luts.sequential), diverging: inksOf(luts.diverging) },
  };
}

function contrastOk(bg: Rgb, fg: Rgb): boolean {
  return contrast(bg, fg) >= 4.5;
}

/** Calls `f` when VS Code switches the theme (it changes the body's class and the CSS variables). */
export function onThemeChange(f: () => void): void {
  new MutationObserver(() => f()).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
}
