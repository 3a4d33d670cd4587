import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { GatescopeApi } from '../../src/extension';
import type { RunOutcome } from '../../src/host/training';
import { untilShown } from './helpers';

/**
 * After training, Inspect and Show Model open the inspector on the text the model was trained on (no file picker),
 * and an inspector's tab names its model as well as its text.
 */
const ID = 'gatescope.gatescope';
const folder = (): vscode.Uri => vscode.workspace.workspaceFolders![0]!.uri;

describe('Pickers: the training text and the model, not a file dialog', function () {
  this.timeout(180_000);
  let api: GatescopeApi;

  before(async () => {
    api = (await vscode.extensions.getExtension<GatescopeApi>(ID)!.activate());
    const c = vscode.workspace.getConfiguration('gatescope');
    for (const [k, v] of Object.entries({ 'training.hidden': 16, 'training.embed': 8, 'training.seq': 16, 'training.batch': 4, 'training.steps': 20, 'training.evalEvery': 10, 'training.checkpointEvery': 0 })) {
      await c.update(k, v, vscode.ConfigurationTarget.Workspace);
    }
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Show Model with the training text opens the inspector on it with no editor open, and the tab names the model', async () => {
    const text = vscode.Uri.joinPath(folder(), 'sample.txt');
    const outcome = await vscode.commands.executeCommand<RunOutcome>('gatescope.trainFile', text);
    assert.equal(outcome.reason, 'done');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.equal(vscode.window.activeTextEditor, undefined);
    // what the status bar's Show Model and the finished message's Inspect run
    await vscode.commands.executeCommand('gatescope.showModel', outcome.model, text);
    const s = await untilShown(api.inspector, { model: outcome.model!, document: text }, (x) => x.steps > 0, 'the inspector traced the training text');
    assert.equal(s.target?.document, text.toString());
    const stem = outcome.model!.path.split('/').pop()!.replace(/\.safetensors$/, '');
    const labels = vscode.window.tabGroups.all.flatMap((g) => g.tabs.map((t) => t.label));
    assert.ok(labels.includes(`Gatescope Inspector: sample.txt · ${stem}`), JSON.stringify(labels));
  });
});
