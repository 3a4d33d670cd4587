// Shared by inspect-dark.mjs and inspect-light.mjs: as a person would, train a model (CLI, so the run is quick),
// open a text, run "Gatescope: Inspect Model on File", pick the model, and look at the Inspector in the real
// workbench. Pixel checks: every visible canvas in the webview has drawn something.
import { trainDemoModel } from './model.mjs';

export function settingsFor(theme) {
  return { 'workbench.colorTheme': theme === 'dark' ? 'Default Dark Modern' : 'Default Light Modern' };
}

export async function inspectScenario({ page, wb, screenshot, log, workspace }) {
  trainDemoModel(workspace, 'inspect-demo', ['--layers', '2', '--hidden', '48', '--embed', '16', '--seq', '32', '--batch', '8', '--steps', '300']);
  log('trained inspect-demo.safetensors');

  await wb.openFile('sample.txt');
  await wb.runCommand('Gatescope: Inspect Model on File');
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'inspect-demo' });
  await pick.first().waitFor({ timeout: 30_000 });
  await pick.first().click();

  const view = wb.webviewFrame();
  await view.locator('canvas').first().waitFor({ timeout: 60_000 });
  await page.waitForTimeout(2500); // charts animate in; the trace of 4,223 characters paints once
  const canvases = await view.locator('canvas').evaluateAll((els) => els
    .filter((c) => c.width > 0 && c.height > 0 && c.offsetParent !== null)
    .map((c) => {
      const ctx = c.getContext('2d');
      const { data } = ctx.getImageData(0, 0, c.width, c.height);
      let drawn = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
      return { id: c.id || c.getAttribute('aria-label') || c.className, drawn: drawn / (c.width * c.height) };
    }));
  log(`canvases: ${canvases.map((c) => `${c.id}=${(100 * c.drawn).toFixed(1)}%`).join(', ')}`);
  if (canvases.length < 5) throw new Error(`expected the inspector's canvases, found ${canvases.length}`);
  // overlay canvases hold only the cursor and hover marks: nearly empty by design
  const blank = canvases.filter((c) => !/overlay/.test(c.id) && c.drawn < 0.002);
  if (blank.length) throw new Error(`blank canvases: ${blank.map((c) => c.id).join(', ')}`);
  await screenshot('01-inspector');
  await screenshot('02-inspector-webview', wb.webviewElement());
}
