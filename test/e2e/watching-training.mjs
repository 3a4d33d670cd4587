// Watching training in the real workbench: a tanh RNN trained with `gatescope train --preset explode` (no clipping,
// recurrent weights at 3× the usual scale) keeps its per-tensor diagnostics in the model file; the Inspector's
// Training tab shows them for the finished model — the update ratio of every tensor as a heatmap, each layer's
// gradient norm, and the hints in words (the explosion, with what clipping did or did not do).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './lib/model.mjs';

export const settings = { 'workbench.colorTheme': 'Default Dark Modern' };

export default async function watchingTrainingScenario({ page, wb, screenshot, log, workspace }) {
  // real text: Python's textwrap.py, as the bundled example ships it
  copyFileSync(path.join(repoRoot(), 'examples', 'python-stdlib', 'textwrap.py'), path.join(workspace, 'textwrap.py'));
  const models = path.join(workspace, '.gatescope', 'models');
  mkdirSync(models, { recursive: true });
  const cli = process.env.GATESCOPE_CLI ?? path.join(repoRoot(), 'dist', 'cli.js');
  const r = spawnSync(process.execPath, [cli, 'train', path.join(workspace, 'textwrap.py'), '--preset', 'explode', '--steps', '300', '--stats-every', '5',
    '--out', path.join(models, 'explode.safetensors')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`training failed: ${r.stderr}`);
  log(`trained explode.safetensors and explode-clipped.safetensors on textwrap.py: ${r.stderr.trim().split('\n').slice(-6).join(' / ')}`);

  await wb.openFile('textwrap.py');
  await wb.runCommand('Gatescope: Inspect Model on File');
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'explode.safetensors' });
  await pick.first().waitFor({ timeout: 30_000 });
  await pick.first().click();

  const view = wb.webviewFrame();
  await view.locator('canvas').first().waitFor({ timeout: 60_000 });
  await view.locator('#tab-training').click();
  const heatmap = view.locator('#update-ratio-heatmap');
  await heatmap.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1000);
  const drawn = await heatmap.evaluate((c) => {
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
    return n / (c.width * c.height);
  });
  log(`heatmap: ${(100 * drawn).toFixed(1)}% of its pixels drawn`);
  if (drawn < 0.2) throw new Error(`the update-ratio heatmap is nearly empty (${(100 * drawn).toFixed(1)}%)`);
  const hints = await view.locator('.hints li').allTextContents();
  log(`hints: ${hints.join(' | ')}`);
  if (hints.length === 0) throw new Error('no hint under the heatmap');
  await view.locator('#tensors').scrollIntoViewIfNeeded();
  await screenshot('01-training-tab', wb.webviewElement());
}
