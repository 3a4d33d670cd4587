import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DidStepBody } from '../../src/protocol/debug';
import { encodeModelFile } from '../../src/engine/modelfile';
import { prepareRun } from '../../src/engine/run';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/engine/trainer';
import type { InspectorApi } from '../../src/panels/inspector';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { nextStep, terminated, untilShown } from './helpers';

/**
 * The inspector shows the debugger's state (issue 15 item 3): opened, revealed or traced again while a Gatescope
 * session is paused on its document and model, it is at the debugger's t (not at a cursor it restored); after Set
 * Value it shows the debugger's edited prediction, marked; when the session ends the mark goes.
 */
const ID = 'gatescope.gatescope';
const H = 16;


/** The tab group showing the inspector's panel. */
function inspectorColumn(): vscode.ViewColumn {
  const group = vscode.window.tabGroups.all.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.label.startsWith('Gatescope Inspector')));
  assert.ok(group, 'the inspector has a tab');
  return group.viewColumn;
}

describe('Gatescope debugger and Inspector in sync', function () {
  this.timeout(180_000);
  let inspector: InspectorApi;
  let program: vscode.Uri;
  let model: vscode.Uri;
  let doc: vscode.TextDocument;
  const text = 'the cat sat on the mat.\nthe dog ate the hat.\nthe end.\n';

  const shown = (ok: (s: InspectorSnapshot) => boolean, what: string): Promise<InspectorSnapshot> =>
    untilShown(inspector, { model, document: program }, ok, what,
      (s) => ({ cursor: s.view.cursor, steps: s.steps, debugger: s.debugger, readout: s.readout, diagram: s.diagram, status: s.status }), 300);

  before(async () => {
    const api = (await vscode.extensions.getExtension(ID)!.activate()) as { inspector: InspectorApi };
    inspector = api.inspector;
    const dir = mkdtempSync(path.join(tmpdir(), 'gatescope-debug-sync-'));
    program = vscode.Uri.file(path.join(dir, 'story.txt'));
    writeFileSync(program.fsPath, text);
    const run = prepareRun(text, { ...DEFAULT_TRAIN_OPTIONS, layers: 1, hidden: H, embed: 8, seq: 16, batch: 4, steps: 10, valFrac: 0 });
    for (let i = 0; i < 10; i++) run.trainer.trainStep();
    model = vscode.Uri.file(path.join(dir, 'sync-model.safetensors'));
    writeFileSync(model.fsPath, encodeModelFile(run.net, run.vocab, { source: 'test' }, null));
    doc = await vscode.workspace.openTextDocument(program);
  });

  after(async () => {
    if (vscode.debug.activeDebugSession) await vscode.debug.stopDebugging(vscode.debug.activeDebugSession);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens, reveals and traces again at the debugger\'s t; shows its Set Value marked as edited; unmarks when it ends', async () => {
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    const first = nextStep((b) => b.t === 0);
    await vscode.commands.executeCommand('gatescope.stepThrough', program, model);
    const { session } = await first;
    const step = async (to: number): Promise<DidStepBody> => {
      const stepped = nextStep((b) => b.t === to);
      await session.customRequest('next', { threadId: 1 });
      return (await stepped).body;
    };
    for (let t = 1; t < 7; t++) await step(t);
    await step(7);

    // opened while paused: at the debugger's t, not at 0
    await inspector.open(model, doc);
    let s = await shown((x) => x.steps > 0 && x.view.cursor === 7 && x.debugger?.t === 7, 'a new inspector starts at the debugger\'s t');
    assert.equal(s.debugger?.edited, false);
    assert.equal(s.readout?.edited, false);

    // the user moves the inspector elsewhere (it saves that view), hides it, and the debugger steps meanwhile
    inspector.setCursor(program, text.indexOf('dog'));
    await shown((x) => x.view.cursor === text.indexOf('dog'), 'the inspector cursor moved');
    await new Promise((r) => setTimeout(r, 400)); // the webview saves its view state after 100 ms
    const other = await vscode.workspace.openTextDocument({ content: 'another file', language: 'plaintext' });
    await vscode.window.showTextDocument(other, { viewColumn: inspectorColumn(), preserveFocus: false });
    await step(8);
    await step(9);
    // revealed (getState reveals a hidden panel): its webview restores the saved view, then the debugger's t wins
    s = await shown((x) => x.view.cursor === 9 && x.debugger?.t === 9, 'a revealed inspector moves to the debugger\'s t');
    assert.equal(s.cursorChar, text[9]);

    // Set Value h[3] = −1: the inspector shows the debugger's prediction, marked as edited
    const scopes = (await session.customRequest('scopes', { frameId: 1 })).scopes as { name: string; variablesReference: number }[];
    const hRef = scopes.find((x) => x.name === 'Hidden h')!.variablesReference;
    const setValue = nextStep((b) => b.reason === 'setValue');
    await session.customRequest('setVariable', { variablesReference: hRef, name: '3', value: '-1' });
    const { body } = await setValue;
    assert.equal(body.diverged, true);
    const debuggerTop = Number((await session.customRequest('evaluate', { expression: 'max(probs)', frameId: 1, context: 'watch' })).result);
    s = await shown((x) => x.readout?.edited === true && x.debugger?.edited === true, 'the inspector shows the edited state');
    assert.equal(s.readout!.t, 9);
    assert.equal(s.readout!.top[0]!.char, body.top[0]!.ch);
    assert.ok(Math.abs(s.readout!.top[0]!.p - debuggerTop) < 1e-3, `top-1 ${s.readout!.top[0]!.p} vs the debugger's ${debuggerTop}`);
    assert.match(s.readout!.mark!, /Edited in the debugger \(Set Value: h\[3\] = −1 at t = 9\)/);
    assert.match(s.seriesNote!, /unedited trace/);
    assert.equal(s.diagram?.edited, true);
    assert.equal(s.diagram?.t, 9);

    // traced again (another range of the document, from its start): still at the debugger's t, still edited
    await inspector.open(model, doc, new vscode.Range(doc.positionAt(0), doc.positionAt(30)));
    s = await shown((x) => x.steps === 30 && x.view.cursor === 9 && x.readout?.edited === true, 'a new trace keeps the debugger\'s t and edited state');

    // the session ends: the mark goes, the prediction is the trace's again
    const done = terminated(session);
    await vscode.debug.stopDebugging(session);
    await done;
    s = await shown((x) => x.debugger === null && x.readout?.edited === false, 'the overlay goes away with the session');
    assert.equal(s.readout!.mark, null);
    assert.equal(s.seriesNote, null);
    assert.equal(s.diagram?.edited, false);
  });
});
