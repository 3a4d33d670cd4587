import * as assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { DebugEditorState } from '../../src/debug/activation';
import { encodeModelFile } from '../../src/engine/modelfile';
import { prepareRun } from '../../src/engine/run';
import { DEFAULT_TRAIN_OPTIONS } from '../../src/engine/trainer';
import { nextStep, terminated } from './helpers';

/**
 * The step debugger in a real VS Code: the command starts an inline session (its runtime in a worker), the
 * session stops on the first character, steps, shows variables, and a long continue never blocks the
 * extension host. DAP semantics themselves are tested in plain Node (test/unit/debug).
 */
const ID = 'gatescope.gatescope';
const H = 16;

function trainModel(dir: string, text: string, layers = 1): string {
  const run = prepareRun(text, { ...DEFAULT_TRAIN_OPTIONS, layers, hidden: H, embed: 8, seq: 16, batch: 4, steps: 10, valFrac: 0 });
  for (let i = 0; i < 10; i++) run.trainer.trainStep();
  const file = path.join(dir, `debug-model-${layers}.safetensors`);
  writeFileSync(file, encodeModelFile(run.net, run.vocab, { source: 'test' }, null));
  return file;
}


describe('Gatescope debugger in VS Code', function () {
  this.timeout(120_000);
  let dir: string;
  let text: string;
  let program: string;
  let model: string;

  before(async () => {
    await vscode.extensions.getExtension(ID)!.activate();
    dir = mkdtempSync(path.join(tmpdir(), 'gatescope-debug-it-'));
    text = 'the cat sat on the mat.\nthe dog ate the hat.\n';
    program = path.join(dir, 'story.txt');
    writeFileSync(program, text);
    model = trainModel(dir, text);
  });

  afterEach(async () => {
    if (vscode.debug.activeDebugSession) {
      const s = vscode.debug.activeDebugSession;
      const done = terminated(s);
      await vscode.debug.stopDebugging(s);
      await done;
    }
  });

  it('"Step Through with LSTM" starts a session stopped on the first character; it steps and shows variables', async () => {
    await vscode.window.showTextDocument(vscode.Uri.file(program));
    const first = nextStep((b) => b.t === 0);
    await vscode.commands.executeCommand('gatescope.stepThrough', vscode.Uri.file(program), vscode.Uri.file(model));
    const { session, body } = await first;
    assert.equal(body.char, 't');
    const st = await session.customRequest('stackTrace', { threadId: 1 });
    assert.equal(st.stackFrames[0].name, "t=0 't'");
    // a path in desktop VS Code, a vscode-remote URI in a remote extension host (the harness's code-server)
    assert.ok(String(st.stackFrames[0].source.path).endsWith(program), st.stackFrames[0].source.path);

    const stepped = nextStep((b) => b.t === 1);
    await session.customRequest('next', { threadId: 1 });
    assert.equal((await stepped).body.char, 'h');
    const scopes = await session.customRequest('scopes', { frameId: 1 });
    assert.deepEqual(scopes.scopes.map((s: { name: string }) => s.name), ['Prediction', 'Gates', 'Cell state c', 'Hidden h', 'Gradient norms']);
    const c = await session.customRequest('variables', { variablesReference: scopes.scopes[2].variablesReference });
    assert.equal(c.variables.length, H);
    const t = await session.customRequest('evaluate', { expression: 't', frameId: 1, context: 'watch' });
    assert.equal(t.result, '1');
  });

  it('numbers layers from 0: a layer(0) condition stops, the Variables view and the call stack say "layer 0"', async () => {
    const twoLayers = trainModel(dir, text, 2);
    const uri = vscode.Uri.file(program);
    const bp = new vscode.SourceBreakpoint(new vscode.Location(uri, new vscode.Position(1, 0)), true, 'layer(0).f[3] > -1');
    vscode.debug.addBreakpoints([bp]);
    try {
      await vscode.window.showTextDocument(uri);
      const hit = nextStep((b) => b.reason === 'breakpoint');
      assert.ok(await vscode.debug.startDebugging(undefined, { type: 'gatescope', request: 'launch', name: 'layers', program, model: twoLayers, stopOnEntry: false }));
      const { session, body } = await hit;
      // a forget gate is in (0, 1): the condition holds at the first character of line 2
      assert.deepEqual([body.line, body.column, body.t], [1, 0, text.indexOf('\n') + 1]);
      const scopes = (await session.customRequest('scopes', { frameId: 1 })).scopes as { name: string; variablesReference: number }[];
      assert.deepEqual(scopes.map((s) => s.name), ['Prediction', 'Gates · layer 0', 'Cell state c · layer 0', 'Hidden h · layer 0', 'Gradient norms · layer 0',
        'Gates · layer 1', 'Cell state c · layer 1', 'Hidden h · layer 1', 'Gradient norms · layer 1']);
      const c0 = await session.customRequest('variables', { variablesReference: scopes[2]!.variablesReference });
      assert.equal(c0.variables[3].evaluateName, 'layer(0).c[3]');
      const f3 = await session.customRequest('evaluate', { expression: 'layer(0).f[3]', frameId: 1, context: 'watch' });
      assert.ok(Number(f3.result) > 0 && Number(f3.result) < 1, f3.result);
      await assert.rejects(Promise.resolve(session.customRequest('evaluate', { expression: 'layer(2).h[0]', frameId: 1, context: 'watch' })),
        /layers are numbered from 0 to 1, not 2/);
      const into = nextStep((b) => b.layer === 0);
      await session.customRequest('stepIn', { threadId: 1 });
      assert.equal((await into).body.layer, 0);
      const st = await session.customRequest('stackTrace', { threadId: 1 });
      assert.equal(st.stackFrames[0].name, `layer 0 · t=${body.t} 't'`);
    } finally {
      vscode.debug.removeBreakpoints([bp]);
    }
  });

  it('highlights the current character and puts its readout after the end of the line, never inside a word', async () => {
    const uri = vscode.Uri.file(program);
    const editor = await vscode.window.showTextDocument(uri);
    const first = nextStep((b) => b.t === 0);
    await vscode.commands.executeCommand('gatescope.stepThrough', uri, vscode.Uri.file(model));
    const { session } = await first;
    const stepped = nextStep((b) => b.t === 2);
    await session.customRequest('next', { threadId: 1 });
    await session.customRequest('next', { threadId: 1 });
    const { body } = await stepped; // the 'e' of "the": text there would read "th → … e cat"
    assert.equal(body.char, 'e');
    const lineText = editor.document.lineAt(body.line).text;
    let state: DebugEditorState | undefined;
    for (let k = 0; k < 100; k++) {
      state = await vscode.commands.executeCommand<DebugEditorState>('gatescope.test.debugEditor');
      if (state.decorations.some((d) => d.hover.startsWith('t=2 ')) && state.inlineValues.some((v) => v.text.startsWith('t=2 '))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const deco = state!.decorations.find((d) => d.document === editor.document.uri.toString());
    assert.ok(deco, `no decoration on the program: ${JSON.stringify(state)}`);
    assert.deepEqual(deco.range, { line: 0, start: 2, end: 3 }, 'the current character is highlighted');
    assert.equal(deco.afterText, null, 'no text inside the line');
    assert.match(deco.hover, /^t=2 'e' · next ' ' p=/);
    const inline = state!.inlineValues.find((v) => v.text.startsWith('t=2 '));
    assert.ok(inline, `VS Code asked for no inline value at t=2: ${JSON.stringify(state)}`);
    assert.deepEqual(inline.range, { line: 0, start: 0, end: lineText.length }, 'the readout is drawn after the end of the line');
  });

  it('a launch configuration without a model asks for one; cancelling starts nothing', async () => {
    let settled = false;
    const started = vscode.debug.startDebugging(undefined, { type: 'gatescope', request: 'launch', name: 'no model', program });
    void Promise.resolve(started).then(() => (settled = true));
    // the model picker opens: dismiss it as a user pressing Escape would
    for (let k = 0; k < 100 && !settled; k++) {
      await new Promise((r) => setTimeout(r, 200));
      await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    }
    assert.equal(await started, false);
    assert.equal(vscode.debug.activeDebugSession, undefined);
  });

  it('a launch.json configuration with a model starts, and a long continue never blocks the extension host', async () => {
    const longText = text.repeat(400);
    const longProgram = path.join(dir, 'long.txt');
    writeFileSync(longProgram, longText);
    const first = nextStep((b) => b.t === 0);
    assert.ok(await vscode.debug.startDebugging(undefined, { type: 'gatescope', request: 'launch', name: 'long', program: longProgram, model, stopOnEntry: true }));
    const { session } = await first;
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const end = nextStep((b) => b.reason === 'end');
    await session.customRequest('continue', { threadId: 1 });
    const { body } = await end;
    delay.disable();
    assert.equal(body.t, [...longText].length - 1);
    assert.ok(delay.max / 1e6 < 250, `the extension host was blocked for ${(delay.max / 1e6).toFixed(0)} ms`);
  });
});
