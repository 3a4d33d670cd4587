// Browser E2E scenario for the step debugger (run-e2e.mjs runs every test/e2e/*.mjs; screenshots land in
// test/artifacts/e2e/<scenario>/).
// As a person would: open a file, "Gatescope: Step Through with LSTM", pick the model, step with F10, look at the
// paused debugger (the current character highlighted, its readout after the end of its line and never inside a
// word, the Prediction scope, the call stack "t=12 'e'"), then Step Into the layers (the first is "layer 0").
import { trainDemoModel } from './lib/model.mjs';

export default async function ({ page, wb, screenshot, log, workspace }) {
  trainDemoModel(workspace, 'debug-demo', ['--hidden', '32', '--embed', '16', '--seq', '32', '--batch', '8', '--steps', '200']);
  log('trained debug-demo.safetensors');

  await wb.openFile('sample.txt');
  await wb.runCommand('Gatescope: Step Through with LSTM');
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'debug-demo' });
  await pick.first().waitFor({ timeout: 30_000 });
  await pick.first().click();
  await page.locator('.debug-toolbar').waitFor({ timeout: 30_000 });
  log('the session is paused on entry');
  await page.waitForTimeout(800);
  await wb.runCommand('View: Show Run and Debug');
  const topFrame = page.locator('.debug-call-stack .monaco-list-row').first();
  await topFrame.filter({ hasText: "t=0 '#'" }).waitFor({ timeout: 30_000 });
  for (let k = 1; k <= 12; k++) {
    // a key press can land before the workbench has the focus it needs: press again until the stack moves
    for (let attempt = 0; ; attempt++) {
      await page.keyboard.press('F10');
      try {
        await topFrame.filter({ hasText: `t=${k} ` }).waitFor({ timeout: 3000 });
        break;
      } catch (e) {
        if (attempt >= 3 || !(await topFrame.innerText()).includes(`t=${k - 1} `)) throw e;
      }
    }
  }
  await page.waitForTimeout(1500);
  await screenshot('01-paused-after-12-steps');
  const frame = await page.locator('.debug-call-stack .monaco-list-row').first().innerText();
  log(`top frame: ${frame.replace(/\s+/g, ' ')}`);
  if (!/t=12 /.test(frame)) throw new Error(`unexpected top frame ${frame}`);

  await wb.runCommand('Debug: Step Into');
  await page.waitForTimeout(1200);
  const top = await page.locator('.debug-call-stack .monaco-list-row').first().innerText();
  if (!/layer 0 · t=12 /.test(top)) throw new Error(`unexpected top frame after Step Into: ${top}`);
  await screenshot('02-stepped-into-layer-0');
}
