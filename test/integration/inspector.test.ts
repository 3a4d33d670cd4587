import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { EngineClient } from '../../src/host/engineClient';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/engine/trainer';
import type { InspectorApi } from '../../src/panels/inspector';
import type { InspectorSnapshot } from '../../src/protocol/webview';
import { untilShown } from './helpers';

/**
 * The Inspector inside a real VS Code: the panel opens on a model and a document, the trace crosses to the
 * webview as typed arrays and every canvas paints under the strict CSP, the editor cursor and selection drive
 * the inspector, the debugger's setCursor works, and Colour Text by Unit runs. What the webview shows is read
 * through the test-only `getState` message (InspectorApi.getState).
 *
 * The model is the golden 2-layer LSTM (H 6) of test/fixtures/golden; the text uses its vocabulary, with an
 * emoji (one timestep, two UTF-16 units) and one character outside it.
 */
const ID = 'gatescope.gatescope';
const UNIT = 'ab é.x🙂 ';


/** Polls the inspector's state until `ok` holds (messages to the webview are asynchronous). */
const until = (inspector: InspectorApi, ok: (s: InspectorSnapshot) => boolean, what: string): Promise<InspectorSnapshot> =>
  untilShown(inspector, {}, ok, what, (s) => ({ view: s.view, steps: s.steps, status: s.status }), 50);

describe('Gatescope Inspector in VS Code', function () {
  this.timeout(120_000);
  let inspector: InspectorApi;
  let engine: EngineClient;
  let doc: vscode.TextDocument;
  let editor: vscode.TextEditor;
  let model: vscode.Uri;
  const text = UNIT.repeat(40) + 'Q' + UNIT.repeat(5);

  before(async () => {
    const ext = vscode.extensions.getExtension(ID);
    assert.ok(ext, `extension ${ID} is installed`);
    const api = (await ext.activate()) as { inspector?: InspectorApi; engine: EngineClient };
    assert.ok(api.inspector, 'activate() returns the inspector as `inspector` (the value of registerInspector)');
    inspector = api.inspector;
    engine = api.engine;
    model = vscode.Uri.joinPath(ext.extensionUri, 'test', 'fixtures', 'golden', 'lstm.safetensors');
    doc = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
    editor = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('opens on a model and a document: the trace arrives and every canvas paints under the CSP', async () => {
    await inspector.open(model, doc);
    const s = await until(inspector, (x) => x.steps > 0 && x.timings.paintMs !== null && x.reach !== null, 'the trace is shown and painted, and its gradient reach');
    assert.equal(s.steps, [...text].length, 'one timestep per code point');
    assert.equal(s.cell, 'lstm');
    assert.equal(s.layers, 2);
    assert.equal(s.hidden, 6);
    assert.equal(s.target?.document, doc.uri.toString());
    assert.deepEqual(s.cspViolations, []);
    const blank = s.canvases.filter((c) => !(c.ink > 0));
    assert.ok(s.canvases.length >= 7, `${s.canvases.length} canvases`);
    assert.deepEqual(blank.map((c) => c.id), [], 'every canvas drew something');
  });

  it('moves its cursor with the editor cursor, counting an emoji as one character', async () => {
    // the fourth emoji: three repeats of 8 code points (9 UTF-16 units) and 6 characters before it
    const offset = 9 * 3 + 6;
    editor.selection = new vscode.Selection(doc.positionAt(offset), doc.positionAt(offset));
    const s = await until(inspector, (x) => x.view.cursor === [...UNIT].length * 3 + 6, 'the cursor follows the editor');
    assert.equal(s.cursorChar, '🙂');
  });

  it('feeds an editor selection to the unit search', async () => {
    const from = 9 * 2, to = 9 * 4;
    editor.selection = new vscode.Selection(doc.positionAt(from), doc.positionAt(to));
    const s = await until(inspector, (x) => x.view.selection?.start === 16, 'the selection reaches the unit search');
    assert.deepEqual(s.view.selection, { start: 16, end: 32 });
  });

  it('follows the debugger (InspectorApi.setCursor), also onto a character traced in place of one outside the vocabulary', async () => {
    const q = text.indexOf('Q');
    inspector.setCursor(doc.uri, q);
    const s = await until(inspector, (x) => x.cursorChar === ' ', 'the cursor moves to the replaced character');
    assert.equal(s.view.cursor, [...text.slice(0, q)].length);
  });

  it('colours the editor text by the selected unit', async () => {
    await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
    await vscode.commands.executeCommand('gatescope.colourTextByUnit');
    await vscode.commands.executeCommand('gatescope.clearUnitColours');
  });

  it('reuses the panel for the same model and document', async () => {
    await inspector.open(model, doc, new vscode.Range(doc.positionAt(0), doc.positionAt(18)));
    const s = await until(inspector, (x) => x.steps === 16, 'the range is traced in the same panel');
    assert.deepEqual(s.target?.range, { start: 0, end: 18 });
  });

  it('shows a training run live: progress reports, a sample at the final checkpoint, the end', async () => {
    const runId = engine.newRunId();
    const text = 'the quick brown fox jumps over the lazy dog. '.repeat(30);
    inspector.showTraining(runId, null);
    const run = engine.train({ runId, text, source: 'fox', options: { ...DEFAULT_TRAIN_OPTIONS, hidden: 16, embed: 8, seq: 16, batch: 4, steps: 60 },
      resume: null, evalEvery: 20, checkpointEvery: 0, totalSteps: 60 });
    await run.started;
    assert.equal((await run.finished).reason, 'done');
    const s = await until(inspector, (x) => !!x.training?.finished && x.training.samples > 0, 'the dashboard shows the finished run and a sample');
    assert.equal(s.view.tab, 'training');
    assert.equal(s.training!.step, 60);
    assert.ok(s.training!.reports >= 1);
    assert.deepEqual(s.canvases.filter((c) => !(c.ink > 0)).map((c) => c.id), [], 'the loss and gradient-norm charts drew');
  });
});
