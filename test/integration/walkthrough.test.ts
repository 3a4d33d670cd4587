import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { GatescopeApi } from '../../src/extension';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { untilShown } from './helpers';

/**
 * Every button of the "See inside an LSTM" walkthrough runs, on the example the extension ships (no folder
 * needed): the example opens in the inspector, the cell diagram shows a chosen character, the debugger starts on
 * it, the RNN comparison loads, the unit search opens.
 */
const ID = 'gatescope.gatescope';

describe('Walkthrough buttons in VS Code', function () {
  this.timeout(240_000);
  let api: GatescopeApi;
  let lstm: vscode.Uri, text: vscode.Uri;

  const until = (ok: (s: InspectorSnapshot) => boolean, what: string): Promise<InspectorSnapshot> => untilShown(api.inspector, { model: lstm, document: text }, ok, what,
    (s) => ({ steps: s.steps, status: s.status, cursor: s.view.cursor, diagram: s.diagram, compare: s.compare, search: s.view.search, featureSearch: s.featureSearch }));

  before(async () => {
    const ext = vscode.extensions.getExtension<GatescopeApi>(ID)!;
    api = await ext.activate();
    lstm = vscode.Uri.joinPath(ext.extensionUri, 'examples', 'models', 'stdlib-lstm.safetensors');
    text = vscode.Uri.joinPath(ext.extensionUri, 'examples', 'python-stdlib', 'textwrap.py');
  });

  after(async () => {
    await vscode.debug.stopDebugging();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('contributes the walkthrough, every step with a button that is a registered command', async () => {
    const pkg = vscode.extensions.getExtension(ID)!.packageJSON as { contributes: { walkthroughs: { steps: { description: string }[] }[] } };
    const steps = pkg.contributes.walkthroughs[0]!.steps;
    assert.ok(steps.length >= 4);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const step of steps) {
      const cmd = /\(command:([\w.]+)\)/.exec(step.description)?.[1];
      assert.ok(cmd && registered.has(cmd), `${step.description}: ${cmd}`);
    }
  });

  it('opens the example: the bundled LSTM inspecting textwrap.py', async () => {
    await vscode.commands.executeCommand('gatescope.walkthrough.openExample');
    const s = await until((x) => x.steps > 0, 'the example is traced');
    assert.equal(s.cell, 'lstm');
    assert.equal(vscode.window.activeTextEditor?.document.uri.toString(), text.toString());
  });

  it('shows the cell diagram on a chosen character, with the trace\'s numbers', async () => {
    await vscode.commands.executeCommand('gatescope.walkthrough.showCell');
    const doc = await vscode.workspace.openTextDocument(text);
    const t = doc.getText().indexOf('width=70') + 6; // ASCII: offset = step
    const s = await until((x) => x.diagram !== null && x.diagram.t === t, 'the diagram shows the chosen step');
    const v = s.diagram!.values as Record<string, number>;
    assert.ok(Math.abs(v['c']! - (v['f']! * v['cPrev']! + v['i']! * v['g']!)) < 1e-5, JSON.stringify(v));
  });

  it('starts the debugger on the example', async () => {
    const started = new Promise<vscode.DebugSession>((resolve) => {
      const sub = vscode.debug.onDidStartDebugSession((s) => { sub.dispose(); resolve(s); });
    });
    await vscode.commands.executeCommand('gatescope.walkthrough.stepThrough');
    const session = await started;
    assert.equal(session.type, 'gatescope');
    await vscode.debug.stopDebugging(session);
  });

  it('loads the RNN trained like the LSTM as the comparison', async () => {
    await vscode.commands.executeCommand('gatescope.walkthrough.compare');
    const s = await until((x) => /stdlib-rnn/.test(x.compare ?? ''), 'the comparison is shown');
    assert.match(s.compare!, /rnn_tanh/);
  });

  it('opens the unit search on the example, set to the column: the counting cell tops the list', async () => {
    await vscode.commands.executeCommand('gatescope.walkthrough.findCell');
    const s = await until((x) => x.view.search.mode === 'feature' && x.featureSearch?.feature === 'column' && x.featureSearch.units.length > 0, 'the column\'s units are ranked');
    const best = s.featureSearch!.units[0]!;
    assert.equal(best.quantity, 'c');
    assert.ok(best.r > 0.6, JSON.stringify(best));
  });
});
