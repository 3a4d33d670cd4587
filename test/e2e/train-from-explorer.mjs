// E2E as a person would: right-click a file in the Explorer → "Train LSTM on File" → the progress notification
// appears → the model shows up in the Models view. Screenshots go to the --out folder (test/artifacts/e2e).

/** Workspace settings the runner writes into .vscode/settings.json before the workbench opens: a run of ~10 s. */
export const settings = {
  'gatescope.training.hidden': 32, 'gatescope.training.embed': 16, 'gatescope.training.seq': 32,
  'gatescope.training.batch': 8, 'gatescope.training.steps': 4000, 'gatescope.training.evalEvery': 200,
};

export default async function ({ page, wb, screenshot, log }) {
  const row = wb.explorerRow('sample.txt');
  await row.waitFor();
  await wb.runContextMenuCommand(row, 'Train LSTM on File');
  await wb.notification(/Training on sample\.txt/).first().waitFor({ timeout: 30_000 });
  log('progress notification is showing');
  await screenshot('01-training-progress');

  await wb.notification(/finished training on sample\.txt/).first().waitFor({ timeout: 120_000 });
  log('training finished');
  await screenshot('02-training-finished');

  await wb.runCommand('Gatescope: Focus on Models View');
  const model = page.locator('.pane-body .monaco-list-row', { hasText: 'sample-lstm-1x32' });
  await model.first().waitFor({ timeout: 30_000 });
  const description = await model.first().innerText();
  if (!/lstm 1×32 · 4,000 steps/.test(description)) throw new Error(`unexpected Models row: ${description}`);
  log(`Models view shows: ${description.replace(/\s+/g, ' ')}`);
  await model.first().hover();
  await page.waitForTimeout(1200);
  await screenshot('03-models-view');
}
