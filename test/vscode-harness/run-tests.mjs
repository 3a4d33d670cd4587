#!/usr/bin/env node
// Runs an extension's integration tests INSIDE a real VS Code extension host (code-server's Node extension host),
// the offline counterpart of @vscode/test-electron's runTests({ extensionDevelopmentPath, extensionTestsPath }).
//
//   node test/vscode-harness/run-tests.mjs --ext DIR --tests PATH [--workspace DIR] [--timeout SECONDS]
//        [--state DIR] [--keep-state] [--verbose]
//
// --ext        extensionDevelopmentPath: the folder with the extension's package.json (e.g. the repo root)
// --tests      extensionTestsPath: compiled test entry (file, file without .js, or folder with index.js) exporting
//              run(): Promise<void> — exactly the module @vscode/test-electron would load
// --workspace  folder the window opens (optional; without it the window has no folder)
// --timeout    seconds until the whole run is given up (default 300)
//
// How it works: the web workbench accepts a `payload` URL parameter carrying extensionDevelopmentPath and
// extensionTestsPath (VS Code's own browser integration tests use this). The remote extension host then loads the
// extension, calls run(), and exits with 0 (resolved) or 1 (rejected/threw); the workbench reports that through
// window.codeAutomationExit(code), and mirrors the extension host's console (mocha's output) through
// window.codeAutomationLog(type, args). Both are exposed into the page before it loads.
//
// Environment: everything in this process's environment reaches the extension host (minus VSCODE_* variables of an
// enclosing VS Code), plus VSCODE_HARNESS=code-server and VSCODE_HARNESS_MOCHA=<path of the harness's mocha>.
//
// Output: the extension host's console on stdout, harness diagnostics on stderr, then a closing line
// "N passed, N failed[, N skipped]" taken from mocha's summary. Exit code: the extension host's (0 pass, 1 fail);
// 2 timeout; 3 harness error; 4 harness not installed.
import fs from 'node:fs';
import path from 'node:path';
import { format, parseArgs } from 'node:util';
import { EXIT, HarnessRun, harnessDir, log, remoteUri, tail } from './harness.mjs';

const { values: opt } = parseArgs({
  options: {
    ext: { type: 'string' },
    tests: { type: 'string' },
    workspace: { type: 'string' },
    timeout: { type: 'string', default: '300' },
    state: { type: 'string' },
    'keep-state': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: !!process.env.VERBOSE },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help || !opt.ext || !opt.tests) {
  console.error('usage: node run-tests.mjs --ext DIR --tests PATH [--workspace DIR] [--timeout S] [--state DIR] [--keep-state] [--verbose]');
  process.exit(opt.help ? 0 : EXIT.HARNESS);
}
const ext = path.resolve(opt.ext);
const tests = path.resolve(opt.tests);
const workspace = opt.workspace && path.resolve(opt.workspace);
const timeoutMs = Number(opt.timeout) * 1000;
if (!fs.existsSync(path.join(ext, 'package.json'))) fatal(`--ext ${ext} has no package.json`);
if (![tests, `${tests}.js`, path.join(tests, 'index.js')].some(p => fs.existsSync(p))) {
  fatal(`--tests ${tests}: no such file (also tried .js and /index.js); compile the tests first`);
}
if (workspace && !fs.statSync(workspace, { throwIfNoEntry: false })?.isDirectory()) fatal(`--workspace ${workspace} is not a folder`);
if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) fatal(`--timeout ${opt.timeout} is not a positive number`);

function fatal(msg) { console.error(`run-tests: ${msg}`); process.exit(EXIT.HARNESS); }

// ---- mocha summary parsing -------------------------------------------------------------------------------------
// mocha's built-in reporters end with "  N passing (Xms)", "  N pending", "  N failing". A suite may also print its
// own "N passed, N failed" line; the last one seen wins.
const counts = { passed: null, failed: null, pending: null };
function scan(line) {
  let m;
  if ((m = /^\s*(\d+) passing\b/.exec(line))) counts.passed = Number(m[1]);
  else if ((m = /^\s*(\d+) failing\s*$/.exec(line))) counts.failed = Number(m[1]);
  else if ((m = /^\s*(\d+) pending\s*$/.exec(line))) counts.pending = Number(m[1]);
  else if ((m = /^\s*(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/.exec(line))) {
    counts.passed = Number(m[1]); counts.failed = Number(m[2]); if (m[3]) counts.pending = Number(m[3]);
  }
}

// One codeAutomationLog(type, args) call = one logger call in the workbench. For extension host console output,
// args is the original console.log argument list (mocha: ['  %d passing (%s)', 4, '43ms']), so util.format
// reproduces the text; it also skips '%c' CSS arguments, which some workbench lines carry.
function toText(args) {
  return Array.isArray(args) ? format(...args) : String(args);
}

// Workbench chatter that is not from the tests (shown with --verbose only). Extension host lines carry no marker of
// their own, so this is a list of the workbench's known startup lines rather than a filter on a prefix.
const NOISE = [
  /^Ignoring fetching additional builtin extensions/,
  /^Updating additional builtin extensions cache/,
  /^Resolving connection token \(/,
  /^Resolved connection token \(/,
  /^Creating a socket \(renderer-/,
  /^\[Service Worker\] registered$/,
  /^ChatSessionStore: /,
  /^\[(AgentHost|ChatModelSelection)\]/,
];

const run = new HarnessRun({ name: 'tests', stateDir: opt.state });
const tStart = Date.now();
let exitCode = EXIT.HARNESS;
let timedOut = false;
try {
  await run.startServer({
    env: { VSCODE_HARNESS_MOCHA: path.join(harnessDir, 'node_modules', 'mocha') },
  });
  const { page } = await run.launchBrowser();
  let resolveExit;
  const hostExited = new Promise(resolve => { resolveExit = resolve; });
  // called by the workbench once the extension host exits after run() (0 resolved, 1 rejected or failed to load)
  await page.exposeFunction('codeAutomationExit', code => { resolveExit(Number(code)); });
  await page.exposeFunction('codeAutomationLog', (type, args) => {
    let text;
    try { text = toText(args); } catch { text = String(args); }
    for (const line of text.split('\n')) {
      if (!opt.verbose && NOISE.some(re => re.test(line))) continue;
      scan(line);
      // one stream for everything the workbench relays, so mocha's output and errors stay in order in CI logs
      console.log(type === 'error' || type === 'warn' ? `[${type}] ${line}` : line);
    }
  });
  page.on('pageerror', e => console.error(`[pageerror] ${e}`));
  if (opt.verbose) {
    page.on('console', m => console.error(`[browser:${m.type()}] ${m.text()}`));
    page.on('response', r => { if (r.status() >= 400) console.error(`[http ${r.status()}] ${r.url()}`); });
  }
  const origin = run.server.origin;
  const payload = [
    ['extensionDevelopmentPath', remoteUri(origin, ext)],
    ['extensionTestsPath', remoteUri(origin, tests)],
    ['skipWelcome', 'true'],
    ['skipReleaseNotes', 'true'],
  ];
  const url = `${origin}/?${workspace ? `folder=${encodeURIComponent(remoteUri(origin, workspace))}&` : 'ew=true&'}` +
    `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  log(`opening workbench: ext=${ext} tests=${tests}${workspace ? ` workspace=${workspace}` : ''}`);
  await page.goto(url);
  let timer;
  const result = await Promise.race([
    hostExited,
    new Promise(r => { timer = setTimeout(() => r('timeout'), Math.max(1000, timeoutMs - (Date.now() - tStart))); }),
  ]);
  clearTimeout(timer);
  if (result === 'timeout') {
    timedOut = true;
    exitCode = EXIT.TIMEOUT;
    const shot = path.join(run.stateDir, 'timeout.png');
    await page.screenshot({ path: shot }).catch(() => {});
    log(`TIMEOUT after ${opt.timeout} s waiting for the extension host to finish (screenshot: ${shot})`);
  } else {
    exitCode = result;
    log(`extension host exited with ${exitCode} after ${((Date.now() - tStart) / 1000).toFixed(1)} s`);
  }
} catch (e) {
  console.error(e?.stack || String(e));
  const t = tail(run.serverLog, 20);
  if (t) console.error(`--- last lines of ${run.serverLog}\n${t}`);
  exitCode = EXIT.HARNESS;
} finally {
  const keep = opt['keep-state'] || exitCode !== EXIT.PASS;
  await run.close({ removeState: !keep });
  if (keep) log(`state (code-server.log, user-data/logs/*/exthost1/remoteexthost.log, timeout.png) kept in ${run.stateDir}`);
}

// Closing line. With no mocha summary (the runner crashed, or a non-mocha runner), fall back to the exit code so a
// failed run never reads as "0 failed".
let passed = counts.passed ?? 0;
let failed = counts.failed ?? 0;
if (exitCode !== EXIT.PASS && failed === 0) {
  failed = 1;
  log(timedOut ? 'counting the timeout as 1 failure' : `no failing test reported but exit code ${exitCode}: counting 1 failure`);
}
if (exitCode === EXIT.PASS && counts.passed === null) log('warning: no mocha summary ("N passing") seen in the output');
console.log(`${passed} passed, ${failed} failed${counts.pending ? `, ${counts.pending} skipped` : ''}`);
process.exit(exitCode);
