import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Commands, TestCommands } from '../../../src/host/ids';
import { manifestProperties } from '../../../src/host/settings';
import { MAX_WORKERS } from '../../../src/engine/types';

/** Static checks of package.json against the code (the in-host suite checks the registered commands). */
const pkg = JSON.parse(readFileSync(path.join(__dirname, '../../../package.json'), 'utf8'));

describe('manifest', () => {
  const contributed: string[] = pkg.contributes.commands.map((c: { command: string }) => c.command);

  it('contributes every command id of src/host/ids.ts, and none of the test-only ones', () => {
    for (const id of Object.values(Commands)) assert.ok(contributed.includes(id), `${id} is not in contributes.commands`);
    for (const id of Object.values(TestCommands)) assert.ok(!JSON.stringify(pkg.contributes).includes(id), `${id} is test-only: not in the manifest`);
  });

  it('stays out of the way: the model editor is an option, the title-bar Train button only on text files, breakpoints only while Gatescope steps or inspects', () => {
    assert.deepEqual(pkg.contributes.customEditors.map((e: { priority: string }) => e.priority), ['option']);
    const title = pkg.contributes.menus['editor/title'].find((m: { command: string }) => m.command === Commands.trainFile);
    assert.match(title.when, /resourceLangId =~/);
    for (const b of pkg.contributes.breakpoints) assert.equal(b.when, 'debugType == gatescope || gatescope.inspectorOpen', b.language);
  });

  it('every command is in category Gatescope with a title', () => {
    for (const c of pkg.contributes.commands) {
      assert.equal(c.category, 'Gatescope', c.command);
      assert.ok(c.title.length > 3, c.command);
    }
  });

  it('menus reference only contributed commands', () => {
    for (const [menu, items] of Object.entries(pkg.contributes.menus) as [string, { command: string }[]][]) {
      for (const item of items) assert.ok(contributed.includes(item.command), `${menu} → ${item.command}`);
    }
  });

  it('configuration is generated from src/host/settings.ts', () => {
    assert.deepEqual(pkg.contributes.configuration.properties, JSON.parse(JSON.stringify(manifestProperties())));
  });

  it('gatescope.training.workers is "auto" by default, else a whole number from 1 to MAX_WORKERS', () => {
    const w = pkg.contributes.configuration.properties['gatescope.training.workers'];
    assert.equal(w.default, 'auto');
    assert.deepEqual(w.anyOf, [{ type: 'string', enum: ['auto'] }, { type: 'integer', minimum: 1, maximum: MAX_WORKERS }]);
  });

  it('activates on use only, never on startup', () => {
    for (const e of pkg.activationEvents ?? []) assert.ok(e !== '*' && e !== 'onStartupFinished', e);
  });

  it('is ready for the Marketplace: a 128 × 128 PNG icon, repository, homepage, bugs, a gallery banner', () => {
    const png = readFileSync(path.join(__dirname, '../../..', pkg.icon));
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [128, 128]);
    assert.match(pkg.repository.url, /^https:\/\//);
    assert.match(pkg.homepage, /^https:\/\//);
    assert.match(pkg.bugs.url, /^https:\/\//);
    assert.match(pkg.galleryBanner.color, /^#[0-9a-f]{6}$/i);
  });

  it('npm pack ships the CLI and the PyTorch companion only', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: path.join(__dirname, '../../..'), encoding: 'utf8' });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path).sort();
    for (const f of files) assert.match(f, /^(dist\/(cli|worker)\.js|python\/(README\.md|gatescope_torch\/[a-z_]+\.py)|package\.json|README\.md|LICENSE|CHANGELOG\.md)$/, f);
    for (const f of ['package.json', 'python/gatescope_torch/__init__.py', 'python/gatescope_torch/train.py']) assert.ok(files.includes(f), f);
  });

  it('ships only what it needs', () => {
    const ignore = readFileSync(path.join(__dirname, '../../../.vscodeignore'), 'utf8');
    assert.match(ignore, /^\*\*$/m, 'everything is excluded first');
    for (const keep of ['!dist/**', '!media/**', '!package.json', '!README.md', '!CHANGELOG.md', '!LICENSE']) assert.ok(ignore.includes(keep), keep);
    assert.equal(pkg.main, './dist/extension.js');
    assert.deepEqual(pkg.dependencies ?? {}, {}, 'everything is bundled by esbuild');
  });
});
