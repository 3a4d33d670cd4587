import type { ExportResult, WebviewReplies, WebviewToHost } from '../src/protocol/webview';
import type { Theme } from './data/colour';

type ExportType = 'exportPng' | 'exportTrace' | 'exportLossCsv';

/** What the exporter asks of the host (the bridge): to save what it is sent, answering where it went. */
export interface ExportHost {
  request<K extends ExportType>(msg: Extract<WebviewToHost, { type: K }>, transfer?: readonly ArrayBuffer[]): Promise<WebviewReplies[K]>;
}

/** The Save buttons: charts composed into one PNG here, the trace and the loss history written by the host. */
export class Exporter {
  constructor(private readonly host: ExportHost) {}

  /** Saves canvases, stacked on the theme's background under a title, as one PNG through the host. */
  async png(theme: Theme, name: string, title: string, canvases: readonly HTMLCanvasElement[]): Promise<void> {
    const base = canvases[0];
    if (!base) return;
    const dpr = window.devicePixelRatio || 1;
    const pad = 12 * dpr;
    const titleH = 24 * dpr;
    const out = document.createElement('canvas');
    out.width = base.width + 2 * pad;
    out.height = canvases.reduce((s, c) => s + c.height, 0) + titleH + 2 * pad;
    const ctx = out.getContext('2d')!;
    const [r, g, b] = theme.bg;
    ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = theme.fg;
    ctx.font = `${13 * dpr}px ${theme.font}`;
    ctx.textBaseline = 'top';
    ctx.fillText(title, pad, pad);
    let y = pad + titleH;
    for (const c of canvases) {
      ctx.drawImage(c, pad, y);
      y += c.height;
    }
    const blob = await new Promise<Blob | null>((res) => out.toBlob(res, 'image/png'));
    if (!blob) return;
    const png = new Uint8Array(await blob.arrayBuffer());
    await this.host.request({ type: 'exportPng', name, png }, [png.buffer as ArrayBuffer]);
  }

  /** Saves the trace as JSON, in the CLI's `trace` schema. */
  trace(): Promise<ExportResult> {
    return this.host.request({ type: 'exportTrace' });
  }

  /** Saves the attached run's loss history as CSV. */
  lossCsv(): Promise<ExportResult> {
    return this.host.request({ type: 'exportLossCsv' });
  }
}
