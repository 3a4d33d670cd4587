import * as assert from 'node:assert/strict';
import { baseName } from '../../../src/protocol/names';

describe('protocol: the one baseName of every side', () => {
  it('names file paths by their last segment, with either separator', () => {
    assert.equal(baseName('/home/ada/notes/decoder.py'), 'decoder.py');
    assert.equal(baseName('C:\\Users\\ada\\model.safetensors'), 'model.safetensors');
    assert.equal(baseName('a#b 100%.txt'), 'a#b 100%.txt', 'a path keeps # and % as they are');
    assert.equal(baseName('decoder.py'), 'decoder.py');
  });

  it('names URI strings without query or fragment, percent-escapes decoded', () => {
    assert.equal(baseName('file:///home/ada/my%20notes/de%C3%A7oder.py'), 'deçoder.py');
    assert.equal(baseName('vscode-remote://ssh-remote+box/srv/m.safetensors?x=1#frag'), 'm.safetensors');
    assert.equal(baseName('untitled:Untitled-1'), 'untitled:Untitled-1', 'no path: the whole name');
    assert.equal(baseName('file:///tmp/bad%zz.txt'), 'bad%zz.txt', 'a malformed escape keeps the name as written');
  });

  it('names objects with a decoded path (vscode.Uri) by that path', () => {
    assert.equal(baseName({ path: '/srv/my notes/m.safetensors' }), 'm.safetensors');
    assert.equal(baseName({ path: '/' }), '/');
  });
});
