import { App, type VsCodeApi } from './app';
import { readTheme } from './theme';
import { applyChartDefaults } from './views/charts';

declare function acquireVsCodeApi(): VsCodeApi;

/** The Inspector webview's entry point (bundled by esbuild into dist/webview.js). */
const vscode = acquireVsCodeApi();
applyChartDefaults(readTheme());
const app = new App(vscode, document.getElementById('app')!);
window.addEventListener('message', (e: MessageEvent) => app.receive(e.data));
new MutationObserver(() => applyChartDefaults(app.theme)).observe(document.body, { attributes: true, attributeFilter: ['class'] });
app.start();
