// Shared by cell-diagram-dark.mjs and cell-diagram-light.mjs: as a learner would, open the bundled example in the
// inspector, step through textwrap.py with the debugger, and look at the cell diagram, which moves with each step.
import { inspectExample, pickExampleModel } from './example.mjs';

export async function diagramScenario({ page, wb, screenshot, log, workspace }) {
  const view = await inspectExample({ page, wb, workspace });
  const diagram = view.locator('#cell-diagram svg.cell-diagram');
  await diagram.waitFor({ timeout: 90_000 });

  await wb.editorTab('textwrap.py').first().click();
  await wb.runCommand('Gatescope: Step Through with LSTM');
  await pickExampleModel(page);
  await page.locator('.debug-toolbar').waitFor({ timeout: 30_000 });
  await page.waitForTimeout(800);
  // step as a learner does, each step once the one before has shown (a loaded machine may take a while for one; a
  // key pressed while the debugger is still running is dropped, so it is pressed again)
  const stepOf = async () => Number(/step (\d+)/.exec((await diagram.getAttribute('aria-label')) ?? '')?.[1] ?? -1);
  for (let k = 0; k < 8; k++) {
    const before = await stepOf();
    for (let attempt = 0; attempt < 4 && (await stepOf()) <= before; attempt++) {
      await page.keyboard.press('F10');
      const end = Date.now() + 5000;
      while (Date.now() < end && (await stepOf()) <= before) await page.waitForTimeout(100);
    }
  }
  await page.waitForTimeout(500);
  const label = await diagram.getAttribute('aria-label');
  log(`diagram: ${label}`);
  const step = Number(/step (\d+)/.exec(label ?? '')?.[1]);
  if (!(step >= 4)) throw new Error(`the diagram did not follow the debugger's steps: ${label}`);
  if (!/forget gate f -?\d\.\d{3} keeps c from/.test(label ?? '')) throw new Error(`the diagram's numbers are missing: ${label}`);
  await diagram.scrollIntoViewIfNeeded();
  await screenshot('01-cell-diagram-while-stepping', view.locator('#cell-diagram'));
  await view.locator('#cell-diagram button', { hasText: 'Mean over units' }).click();
  await page.waitForTimeout(500);
  await screenshot('02-cell-diagram-mean-over-units', view.locator('#cell-diagram'));
  await screenshot('03-workbench', undefined);
}
