// Browser E2E scenario for the step debugger (run-e2e.mjs runs every test/e2e/*.mjs; screenshots land in
// test/artifacts/e2e/<scenario>/).
// As a person would: open a file, "Gatescope: Step Through with LSTM", pick the model, step with F10, look at the
// paused debugger (the current character highlighted, its readout after the end of its line and never inside a
// word, the Prediction scope, the call stack "t=12 'e'"), then Step Into the layers (the first is "layer 0"). Then
// Set Value on a unit of h in the Variables view and open the inspector on the same file and model: it is at the
// debugger's t and shows the debugger's edited prediction, marked "Edited in the debugger".
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

  // back to the timestep, then Set Value h[3] = -1 in the Variables view (F2 on the unit's row)
  await wb.runCommand('Debug: Step Out');
  await page.locator('.debug-call-stack .monaco-list-row').first().filter({ hasText: /^t=12 / }).waitFor({ timeout: 30_000 });
  // with the keyboard, as the Variables view's tree is virtual: fold Prediction (it opens expanded and fills the pane),
  // go down Gates and Cell state c to Hidden h, open it, go down to unit 3
  const prediction = page.locator('.debug-variables .monaco-list-row', { hasText: 'Prediction' }).first();
  await prediction.waitFor({ timeout: 30_000 });
  await page.waitForTimeout(800);
  await prediction.click(); // focuses the tree (and may fold the scope)
  await page.keyboard.press('Home');
  const focused = page.locator('.debug-variables .monaco-list-row.focused');
  if ((await focused.getAttribute('aria-expanded')) === 'true') await page.keyboard.press('ArrowLeft');
  /** Presses ↓ until the focused row reads like `re` (other scopes may be open above it). */
  const downTo = async (re, what) => {
    for (let k = 0; k < 80; k++) {
      if (re.test(await focused.innerText())) return;
      await page.keyboard.press('ArrowDown');
    }
    throw new Error(`no ${what} in the Variables view; focus is on ${await focused.innerText()}`);
  };
  await downTo(/^Hidden h/, 'Hidden h scope');
  await page.keyboard.press('ArrowRight');
  await page.waitForTimeout(1000); // its units arrive
  await downTo(/^\s*3\s*=/, 'unit 3 of h');
  await page.keyboard.press('F2');
  const input = page.locator('.debug-variables input').first();
  await input.waitFor({ timeout: 10_000 });
  await input.fill('-1');
  await page.keyboard.press('Enter');
  // the Debug Console says what was set (the row the tree had focused): the inspector must name the same unit
  const said = page.locator('.repl .monaco-list-row', { hasText: /Set h\[\d+\] = -1 at t=12/ }).first();
  await said.waitFor({ timeout: 30_000 });
  const unitSet = /Set h\[(\d+)\]/.exec(await said.innerText())[1];
  log(`set h[${unitSet}] = -1 at t = 12`);

  // the inspector on the same file and model: at the debugger's t, the edited prediction marked as such
  await wb.openFile('sample.txt');
  await wb.runCommand('Gatescope: Inspect Model on File');
  const model = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'debug-demo' });
  await model.first().waitFor({ timeout: 30_000 });
  await model.first().click();
  const view = wb.webviewFrame();
  const mark = view.locator('#readout .edited-mark');
  await mark.waitFor({ timeout: 60_000 });
  const markText = await mark.innerText();
  log(`the Cursor card: ${markText}`);
  if (!markText.includes(`Edited in the debugger (Set Value: h[${unitSet}] = −1 at t = 12)`)) throw new Error(`unexpected mark: ${markText}`);
  const note = await view.locator('.edited-note').innerText();
  if (!/unedited trace/.test(note)) throw new Error(`unexpected note over the heatmaps: ${note}`);
  const cursor = await view.locator('#readout .d-t').innerText();
  if (!/t = 12$/.test(cursor)) throw new Error(`the inspector is not at the debugger's t: ${cursor}`);
  await page.waitForTimeout(1500);
  await screenshot('03-inspector-edited-by-set-value');
  // the Cursor card and the cell diagram (the side column, below the charts in a narrow panel) and the line over the heatmaps
  await view.locator('#readout').scrollIntoViewIfNeeded();
  await screenshot('04-inspector-cursor-card-edited', view.locator('#readout'));
  await view.locator('#cell-diagram').scrollIntoViewIfNeeded();
  await screenshot('05-inspector-cell-diagram-edited', view.locator('#cell-diagram'));
  await view.locator('.edited-note').scrollIntoViewIfNeeded();
  await screenshot('06-inspector-heatmaps-note', wb.webviewElement());
}
