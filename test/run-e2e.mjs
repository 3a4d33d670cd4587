// Packages the extension as a VSIX (production build) and runs every browser E2E scenario in test/e2e against
// the real VS Code workbench (the project's code-server harness); screenshots land in test/artifacts/e2e/.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureHarness } from './ensure-harness.mjs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1;
const harness = path.join(root, 'test/vscode-harness');
ensureHarness();
const tmp = mkdtempSync(path.join(tmpdir(), 'gatescope-e2e-'));
const vsix = path.join(tmp, 'gatescope.vsix');
let code = run(process.execPath, ['esbuild.js', '--production']);
if (code === 0) code = run(process.execPath, [path.join(harness, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix]);
let failed = code === 0 ? 0 : 1;
// every .mjs directly in test/e2e is a scenario (shared code lives in test/e2e/lib); E2E_GREP (a regular expression
// on the scenario's name without .mjs, e.g. 'unit-search$|inspect') narrows the run
const grep = new RegExp(process.env.E2E_GREP ?? '');
const scenarios = code === 0 ? readdirSync(path.join(root, 'test/e2e')).filter((f) => f.endsWith('.mjs') && grep.test(f.replace(/\.mjs$/, ''))).sort() : [];
for (const s of scenarios) {
  const workspace = mkdtempSync(path.join(tmp, 'ws-'));
  cpSync(path.join(root, 'test/fixtures/workspace'), workspace, { recursive: true });
  const { settings } = await import(pathToFileURL(path.join(root, 'test/e2e', s)).href);
  if (settings) {
    mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
    writeFileSync(path.join(workspace, '.vscode/settings.json'), JSON.stringify(settings, null, 2));
  }
  const out = path.join(root, 'test/artifacts/e2e', s.replace(/\.mjs$/, ''));
  if (run(process.execPath, [path.join(harness, 'e2e.mjs'), '--vsix', vsix, '--workspace', workspace, '--out', out, '--script', path.join(root, 'test/e2e', s)]) !== 0) failed++;
}
rmSync(tmp, { recursive: true, force: true });
console.log(`${scenarios.length - (code === 0 ? failed : 0)} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
