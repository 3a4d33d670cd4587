// The bundled example in a scenario's workspace: the LSTM in the models folder (where the pickers list it), the
// RNN trained the same way beside the text (to load as a comparison), and the held-out textwrap.py.
import { copyFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './model.mjs';

export function copyExample(workspace) {
  const root = repoRoot();
  const models = path.join(workspace, '.gatescope', 'models');
  mkdirSync(models, { recursive: true });
  copyFileSync(path.join(root, 'examples/models/stdlib-lstm.safetensors'), path.join(models, 'stdlib-lstm.safetensors'));
  copyFileSync(path.join(root, 'examples/models/stdlib-rnn.safetensors'), path.join(workspace, 'stdlib-rnn.safetensors'));
  copyFileSync(path.join(root, 'examples/python-stdlib/textwrap.py'), path.join(workspace, 'textwrap.py'));
}

/** Picks the bundled LSTM in an open model quick pick. */
export async function pickExampleModel(page) {
  const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'stdlib-lstm' });
  await pick.first().waitFor({ timeout: 30_000 });
  await pick.first().click();
}

/** As a person would: textwrap.py in an editor, "Gatescope: Inspect Model on File", the bundled LSTM. */
export async function inspectExample({ page, wb, workspace }) {
  copyExample(workspace);
  await wb.openFile('textwrap.py');
  await wb.runCommand('Gatescope: Inspect Model on File');
  await pickExampleModel(page);
  return wb.webviewFrame();
}
