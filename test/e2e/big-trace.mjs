// A big model in the real workbench: a 2 × 1024 LSTM (13.7 million parameters, the size researchers bring from
// PyTorch) inspecting the first 1,500 characters of sample.txt. The trace arrives in segments: the inspector paints the text's
// beginning while the rest is computed, with a progress bar and Cancel, then shows the whole with its gradients.
// Times are logged, never asserted (a busy CI machine is slow, not wrong).
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { trainDemoModel } from './lib/model.mjs';

export const settings = { 'workbench.colorTheme': 'Default Dark Modern' };

export default async function bigTraceScenario({ page, wb, screenshot, log, workspace }) {
  // one step: the weights barely move, but the work of a trace is the same as for a trained model
  trainDemoModel(workspace, 'big-2x1024', ['--layers', '2', '--hidden', '1024', '--embed', '64', '--seq', '16', '--batch', '2', '--steps', '1']);
  log('trained big-2x1024.safetensors (one step)');

  writeFileSync(path.join(workspace, 'notes-1500.txt'), readFileSync(path.join(workspace, 'sample.txt'), 'utf8').slice(0, 1500));
  await wb.openFile('notes-1500.txt');
  await wb.runCommand('Gatescope: Inspect Model on File');
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'big-2x1024' });
  await pick.first().waitFor({ timeout: 30_000 });
  const t0 = Date.now();
  await pick.first().click();

  const view = wb.webviewFrame();
  // the first segments: the progress bar is up and the text strip has painted
  const progress = view.locator('.status progress');
  await progress.first().waitFor({ timeout: 90_000 });
  await view.locator('canvas').first().waitFor({ timeout: 60_000 });
  const firstPaint = Date.now() - t0;
  const status = await view.locator('.status-text').first().textContent();
  log(`first paint after ${firstPaint} ms (from the model pick, the webview's load included): "${status}"`);
  if (!/Tracing 1,500 characters/.test(status ?? '')) throw new Error(`expected the tracing status with its progress, saw "${status}"`);
  await screenshot('01-first-segments', wb.webviewElement());

  // the whole trace: the status (its progress and Cancel) clears once the gradients are in
  await view.locator('button', { hasText: 'Cancel' }).first().waitFor({ state: 'detached', timeout: 240_000 });
  log(`complete after ${Date.now() - t0} ms`);
  await page.waitForTimeout(1500);
  const header = await view.locator('body').textContent();
  if (!/loss \d\.\d+ nats\/char/.test(header ?? '')) throw new Error('the complete trace shows its loss');
  await screenshot('02-complete', wb.webviewElement());
}
