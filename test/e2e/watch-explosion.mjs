// "Gatescope: Watch Gradients Explode" in the real workbench, on Python's textwrap.py: the tanh RNN preset trained
// without clipping, then clipped, each with its live dashboard; the clipped run's gradient-norm chart draws the
// unclipped run's beside its own, and the "Which weights learn" card says what happened in words.
import { copyFileSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './lib/model.mjs';

export const settings = { 'workbench.colorTheme': 'Default Dark Modern' };

export default async function watchExplosionScenario({ page, wb, screenshot, log, workspace }) {
  copyFileSync(path.join(repoRoot(), 'examples', 'python-stdlib', 'textwrap.py'), path.join(workspace, 'textwrap.py'));
  await wb.openFile('textwrap.py');
  await wb.runCommand('Gatescope: Watch Gradients Explode (tanh RNN, without and with clipping)');
  const view = wb.webviewFrame();
  // the second (clipped) run's dashboard, once its run has finished: the state line says so
  const finished = view.locator('.run-state', { hasText: /explode, clipped at 1\): finished/ });
  await finished.first().waitFor({ timeout: 240_000 });
  await page.waitForTimeout(1500);
  // the two "finished training" notifications would cover the chart
  await wb.runCommand('Notifications: Clear All Notifications');
  const legend = await view.locator('#gradnorm-chart').evaluate((c) => c.getAttribute('aria-label'));
  log(`gradient chart: ${legend}`);
  const hints = await view.locator('.hints li').allTextContents();
  log(`hints (clipped run): ${hints.join(' | ')}`);
  if (!/beside it/.test(legend ?? '')) throw new Error(`the clipped run's chart does not draw the unclipped run's norm: "${legend}"`);
  await view.locator('#gradnorm').scrollIntoViewIfNeeded();
  await screenshot('01-clipped-beside-unclipped', wb.webviewElement());
}
