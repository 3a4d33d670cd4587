#!/usr/bin/env node
// The same in-host test run as run-tests.mjs, but in desktop VS Code (Electron) through @vscode/test-electron, for
// machines that can download VS Code (not this project's CI, which has no internet beyond npm/apt).
//
//   node test/vscode-harness/electron.mjs --ext DIR --tests PATH [--workspace DIR] [--timeout SECONDS]
//        [--vscode-version stable|insiders|1.100.3] [--vscode-executable PATH]
//
// Same flags and the same contract as run-tests.mjs: --tests is a module exporting run(): Promise<void>, env vars
// reach the extension host (plus VSCODE_HARNESS=electron), output ends with "N passed, N failed" parsed from mocha's
// summary, exit code 0 pass / 1 fail / 2 timeout / 3 harness error / 4 @vscode/test-electron not installed.
//
// @vscode/test-electron is not a dependency of the harness (it would be dead weight offline). It is resolved from the
// extension (--ext) first, then from the harness: `npm i -D @vscode/test-electron` in either. Use 2.5.x on node 20
// (3.x needs node >= 22). On Linux without a display run it under Xvfb: `xvfb-run -a node electron.mjs ...`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { EXIT, USER_SETTINGS, harnessDir } from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    ext: { type: 'string' },
    tests: { type: 'string' },
    workspace: { type: 'string' },
    timeout: { type: 'string', default: '300' },
    'vscode-version': { type: 'string', default: process.env.VSCODE_TEST_VERSION || 'stable' },
    'vscode-executable': { type: 'string', default: process.env.VSCODE_EXECUTABLE_PATH },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help || !opt.ext || !opt.tests) {
  console.error('usage: node electron.mjs --ext DIR --tests PATH [--workspace DIR] [--timeout S] [--vscode-version V] [--vscode-executable PATH]');
  process.exit(opt.help ? 0 : EXIT.HARNESS);
}
const ext = path.resolve(opt.ext);
const tests = path.resolve(opt.tests);
const workspace = opt.workspace && path.resolve(opt.workspace);
const timeoutMs = Number(opt.timeout) * 1000;

function loadTestElectron() {
  for (const base of [ext, harnessDir]) {
    try { return createRequire(path.join(base, 'package.json'))('@vscode/test-electron'); } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  console.error('electron.mjs: @vscode/test-electron is not installed.\n' +
    `  npm i -D @vscode/test-electron@2.5   (in ${ext}, or in ${harnessDir})\n` +
    'It downloads a VS Code build at run time, so it needs internet access;\n' +
    'offline, use run-tests.mjs (code-server) instead.');
  process.exit(EXIT.NOT_INSTALLED);
}
const { runTests } = loadTestElectron();

// Count mocha's summary lines in what VS Code prints (test-electron forwards the child's stdout to ours in chunks,
// so reassemble lines before matching).
const counts = { passed: null, failed: null, pending: null };
let partial = '';
const origWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  partial += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  const lines = partial.split('\n');
  partial = lines.pop();
  for (const line of lines) {
    let m;
    if ((m = /^\s*(\d+) passing\b/.exec(line))) counts.passed = Number(m[1]);
    else if ((m = /^\s*(\d+) failing\s*$/.exec(line))) counts.failed = Number(m[1]);
    else if ((m = /^\s*(\d+) pending\s*$/.exec(line))) counts.pending = Number(m[1]);
  }
  return origWrite(chunk, ...rest);
};

// Fresh profile per run, like the code-server harness (short path: VS Code puts IPC sockets under it).
const tmp = fs.mkdtempSync(path.join(process.env.VSCODE_HARNESS_TMP || os.tmpdir(), 'vsh-e-'));
const userDataDir = path.join(tmp, 'ud');
fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
fs.writeFileSync(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
const cleanup = () => { try { fs.rmSync(tmp, { recursive: true, force: true }); } catch { /* best effort */ } };
process.on('exit', cleanup);

const harnessMocha = path.join(harnessDir, 'node_modules', 'mocha');
let exitCode = EXIT.HARNESS;
let timer;
try {
  const run = runTests({
    version: opt['vscode-version'],
    ...(opt['vscode-executable'] ? { vscodeExecutablePath: opt['vscode-executable'] } : {}),
    // downloads land in the harness dir (gitignored), not in whatever the cwd is
    cachePath: path.join(harnessDir, '.vscode-test'),
    extensionDevelopmentPath: ext,
    extensionTestsPath: tests,
    extensionTestsEnv: {
      VSCODE_HARNESS: 'electron',
      ...(fs.existsSync(harnessMocha) ? { VSCODE_HARNESS_MOCHA: harnessMocha } : {}),
    },
    launchArgs: [
      ...(workspace ? [workspace] : []),
      '--disable-extensions',          // other installed extensions off; the one under development still loads
      `--user-data-dir=${userDataDir}`,
      `--extensions-dir=${path.join(tmp, 'ext')}`,
    ],
  });
  const result = await Promise.race([
    run.then(code => code, err => err),
    new Promise(r => { timer = setTimeout(() => r('timeout'), timeoutMs); }),
  ]);
  if (result === 'timeout') {
    console.error(`electron.mjs: TIMEOUT after ${opt.timeout} s; closing VS Code`);
    // test-electron (>= 2.4) closes VS Code on the first SIGINT it sees; emit it instead of signalling ourselves
    process.emit('SIGINT');
    await Promise.race([run.catch(() => {}), new Promise(r => setTimeout(r, 10000))]);
    exitCode = EXIT.TIMEOUT;
  } else if (typeof result === 'number') {
    exitCode = result;
  } else {
    // TestRunFailedError (2.4+: code/signal) or, from older versions, the string 'Failed'
    const code = result?.code;
    exitCode = typeof code === 'number' && code !== 0 ? code : EXIT.FAIL;
    if (!(typeof code === 'number')) console.error(`electron.mjs: ${result?.message || result}`);
  }
} catch (e) {
  console.error(e?.stack || String(e));
  exitCode = EXIT.HARNESS;
} finally {
  clearTimeout(timer);
}

let passed = counts.passed ?? 0;
let failed = counts.failed ?? 0;
if (exitCode !== EXIT.PASS && failed === 0) failed = 1;
origWrite(`${passed} passed, ${failed} failed${counts.pending ? `, ${counts.pending} skipped` : ''}\n`);
cleanup();
process.exit(exitCode);
