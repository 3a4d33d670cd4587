/**
 * The Inspector webview's HTML: a strict Content-Security-Policy (no 'unsafe-inline', no 'unsafe-eval', nothing
 * remote; scripts only with the nonce, styles only from the extension), one stylesheet and one script. Pure, so
 * that the standalone test page serves exactly the same document.
 */
export interface InspectorHtmlOptions {
  /** webview.cspSource: where the extension's own files load from. */
  readonly cspSource: string;
  readonly nonce: string;
  readonly scriptUri: string;
  readonly styleUri: string;
  readonly title: string;
  /** Scripts to run before the webview's (the standalone page's fake host), with the same nonce. */
  readonly preScripts?: readonly string[];
  /** connect-src for the standalone page's fake host, which fetches its fixture; none in VS Code. */
  readonly connectSrc?: string;
}

export function inspectorCsp(o: Pick<InspectorHtmlOptions, 'cspSource' | 'nonce' | 'connectSrc'>): string {
  return [
    "default-src 'none'",
    `img-src ${o.cspSource}`,
    `style-src ${o.cspSource}`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${o.nonce}'`,
    ...(o.connectSrc ? [`connect-src ${o.connectSrc}`] : []),
  ].join('; ');
}

export function inspectorHtml(o: InspectorHtmlOptions): string {
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const scripts = [...(o.preScripts ?? []), o.scriptUri].map((src) => `  <script nonce="${esc(o.nonce)}" src="${esc(src)}"></script>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${esc(inspectorCsp(o))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${esc(o.styleUri)}">
  <title>${esc(o.title)}</title>
</head>
<body>
  <div id="app"></div>
${scripts}
</body>
</html>
`;
}

/** A nonce of 32 base-36 characters from 16 random bytes. */
export function makeNonce(random: (n: number) => Uint8Array): string {
  return Array.from(random(16), (b) => b.toString(36).padStart(2, '0')).join('');
}
