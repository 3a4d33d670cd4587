import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { DidStepBody } from '../../../src/protocol/debug';
import {
  DEBUG_TYPE, DebugCommands, DebugTestCommands, INITIAL_CONFIGURATION, inlineValueSpan, inlineValueText, launchConfigFor, percent, samePath,
  stepDecoration,
} from '../../../src/debug/launchConfig';

const body = (extra: Partial<DidStepBody> = {}): DidStepBody => ({
  program: '/w/a.txt', model: '/w/m.safetensors', t: 42, length: 100, layer: null, char: 'x', line: 2, column: 5, endColumn: 6, offset: 60,
  top: [{ ch: 'e', p: 0.3142 }, { ch: ' ', p: 0.2 }, { ch: '\n', p: 0.051 }, { ch: 'a', p: 0.01 }],
  next: { ch: 'a', p: 0.0123, loss: 4.398 }, diverged: false, state: null, reason: 'step', ...extra,
});

describe('debugger wiring without VS Code: launch configurations and editor texts', () => {
  const editor = { program: '/w/a.txt', fileName: 'a.txt', unsaved: false, text: 'abc\ndef', selection: null };

  it('steps through the whole saved file by reading it', () => {
    assert.deepEqual(launchConfigFor(editor, '/m.safetensors'), {
      type: 'gatescope', request: 'launch', name: 'Step through a.txt', program: '/w/a.txt', model: '/m.safetensors', stopOnEntry: true,
    });
  });

  it('passes the text of an unsaved document, and a selection with its place in the document', () => {
    assert.equal(launchConfigFor({ ...editor, unsaved: true }, '/m').text, 'abc\ndef');
    const c = launchConfigFor({ ...editor, selection: { text: 'de', startOffset: 4, startLine: 1, startColumn: 0 } }, '/m');
    assert.deepEqual([c.name, c.text, c.startOffset, c.startLine, c.startColumn], ['Step through the selection of a.txt', 'de', 4, 1, 0]);
    assert.equal(launchConfigFor({ ...editor, selection: { text: '', startOffset: 2, startLine: 0, startColumn: 2 } }, '/m').text, undefined);
  });

  it('writes the inline value (layers 0-based) and the hover', () => {
    assert.equal(inlineValueText(body()), "t=42 'x' · next 'a' p=1.2% loss 4.40 · top 'e' 31%, ' ' 20%, '\\n' 5.1%");
    assert.equal(inlineValueText(body({ next: null, layer: 0 })), "t=42 'x' · layer 0 · end of the text · top 'e' 31%, ' ' 20%, '\\n' 5.1%");
    assert.equal(inlineValueText(body({ next: null, layer: 1 })), "t=42 'x' · layer 1 · end of the text · top 'e' 31%, ' ' 20%, '\\n' 5.1%");
    assert.match(inlineValueText(body({ diverged: true })), / · edited state \(Set Value\)$/);
    assert.deepEqual([0.5, 0.0423, 0.0031, 0.00001].map(percent), ['50%', '4.2%', '0.31%', '<0.01%']);
  });

  it('highlights the current character and puts no text inside its line: the readout goes after the line\'s end', () => {
    // "class JSONDecodeError", stopped on its 'c': the word must read whole, not "c → 'o' 66%lass"
    const line = 'class JSONDecodeError(ValueError):';
    const b = body({ char: 'c', line: 7, column: 0, endColumn: 1 });
    const d = stepDecoration(b);
    assert.deepEqual(d.current, { line: 7, start: 0, end: 1 });
    assert.deepEqual(Object.keys(d).sort(), ['current', 'hover'], 'a highlight and a hover, no after-text at the character');
    assert.equal(d.hover, inlineValueText(b));
    // VS Code draws an inline value after its range's end: the range ends where the line ends
    assert.deepEqual(inlineValueSpan(7, line), { line: 7, start: 0, end: line.length });
    assert.deepEqual(inlineValueSpan(0, ''), { line: 0, start: 0, end: 0 });
    assert.deepEqual(inlineValueSpan(3, 'a🙂b'), { line: 3, start: 0, end: 4 }, 'UTF-16 columns, as the editor counts them');
  });

  it('compares paths across separators and drive-letter case', () => {
    assert.ok(samePath('C:\\w\\a.txt', 'c:/w/a.txt'));
    assert.ok(!samePath('/w/a.txt', '/w/b.txt'));
  });

  it('the manifest declares the debugger, its command, breakpoints and activation', () => {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8'));
    const c = { ...pkg.contributes, activationEvents: pkg.activationEvents };
    const dbg = c.debuggers.find((d: { type: string }) => d.type === DEBUG_TYPE);
    assert.ok(dbg, 'a gatescope debugger');
    assert.deepEqual(dbg.initialConfigurations, [INITIAL_CONFIGURATION]);
    assert.deepEqual(Object.keys(dbg.configurationAttributes.launch.properties).sort(),
      ['model', 'program', 'startColumn', 'startLine', 'startOffset', 'stopOnEntry', 'text', 'trace']);
    for (const id of Object.values(DebugCommands)) assert.ok(c.commands.some((x: { command: string }) => x.command === id), id);
    for (const id of Object.values(DebugTestCommands)) assert.ok(!JSON.stringify(c).includes(id), `${id} is test-only: not in the manifest`);
    assert.ok(c.menus['editor/context'].some((m: { command: string }) => m.command === DebugCommands.stepThrough));
    assert.ok(c.activationEvents.includes(`onDebugResolve:${DEBUG_TYPE}`));
    assert.ok(c.breakpoints.some((b: { language: string }) => b.language === 'plaintext'));
  });
});
