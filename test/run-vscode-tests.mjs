// Runs the in-host integration suite on a fresh copy of the fixture workspace (tests write models into it):
//   node test/run-vscode-tests.mjs              → the project's code-server harness (offline, headless)
//   node test/run-vscode-tests.mjs --electron   → @vscode/test-electron (desktop VS Code; needs to download it)
// Builds the extension and the compiled suites first. Exits with the runner's exit code.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ensureHarness } from './ensure-harness.mjs';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electron = process.argv.includes('--electron');
if (!electron) ensureHarness();
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env }).status ?? 1;

let code = run(process.execPath, ['esbuild.js', '--tests']);
if (code !== 0) process.exit(code);
const workspace = mkdtempSync(path.join(tmpdir(), 'gatescope-ws-'));
cpSync(path.join(root, 'test/fixtures/workspace'), workspace, { recursive: true });
const runner = path.join(root, 'test/vscode-harness', electron ? 'electron.mjs' : 'run-tests.mjs');
code = run(process.execPath, [runner, '--ext', root, '--tests', path.join(root, 'out/test/integration/index.js'),
  '--workspace', workspace, '--timeout', process.env.GATESCOPE_TEST_TIMEOUT ?? '600']);
rmSync(workspace, { recursive: true, force: true });
process.exit(code);
