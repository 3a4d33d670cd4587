#!/usr/bin/env node
// Browser E2E "as a person would": installs the extension's VSIX into a fresh code-server, opens the workbench on a
// folder in headless Debian chromium, waits until it is usable, then runs a scenario module against the page.
//
//   node test/vscode-harness/e2e.mjs --vsix FILE --workspace DIR --out DIR --script PATH.mjs
//        [--timeout SECONDS] [--state DIR] [--keep-state] [--verbose] [--width 1400 --height 900]
//
// The scenario module default-exports (or exports as `run`) an async function that receives
//   { page, context, wb, screenshot, log, workspace, outDir, origin }
//   page        playwright-core Page with the workbench
//   wb          workbench.mjs helpers bound to page (wb.runCommand(title), wb.explorerRow(name), wb.webviewFrame(), ...)
//   screenshot  async (name, locator?) => path: saves <out>/<name>.png of the page (or of `locator` only)
//   log         like console.log, timestamped, on stderr
// It passes by returning and fails by throwing. Output ends with "1 passed, 0 failed" or "0 passed, 1 failed";
// exit code 0 / 1 (3 harness error, 4 harness not installed). A failure also saves <out>/failure.png.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { EXIT, HarnessRun, log, tail, withTimeout } from './harness.mjs';
import { bind } from './workbench.mjs';

const { values: opt } = parseArgs({
  options: {
    vsix: { type: 'string' },
    workspace: { type: 'string' },
    out: { type: 'string' },
    script: { type: 'string' },
    timeout: { type: 'string', default: '300' },
    state: { type: 'string' },
    'keep-state': { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: !!process.env.VERBOSE },
    width: { type: 'string', default: '1400' },
    height: { type: 'string', default: '900' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help || !opt.vsix || !opt.workspace || !opt.out || !opt.script) {
  console.error('usage: node e2e.mjs --vsix FILE --workspace DIR --out DIR --script PATH.mjs [--timeout S] [--state DIR] [--keep-state] [--verbose]');
  process.exit(opt.help ? 0 : EXIT.HARNESS);
}
const vsix = path.resolve(opt.vsix);
const workspace = path.resolve(opt.workspace);
const outDir = path.resolve(opt.out);
const script = path.resolve(opt.script);
const timeoutMs = Number(opt.timeout) * 1000;
for (const [flag, p, dir] of [['--vsix', vsix, false], ['--workspace', workspace, true], ['--script', script, false]]) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st || st.isDirectory() !== dir) { console.error(`e2e: ${flag} ${p}: no such ${dir ? 'folder' : 'file'}`); process.exit(EXIT.HARNESS); }
}
fs.mkdirSync(outDir, { recursive: true });

const run = new HarnessRun({ name: 'e2e', stateDir: opt.state });
const tStart = Date.now();
let lapStart = tStart;
const lap = (what) => { const now = Date.now(); log(`${what} (${now - lapStart} ms)`); lapStart = now; };
let ok = false;
let page;
try {
  // import first: a scenario with a syntax error should fail before minutes of setup
  const mod = await import(pathToFileURL(script).href);
  const scenario = typeof mod.default === 'function' ? mod.default : mod.run;
  if (typeof scenario !== 'function') throw new Error(`${script} exports neither a default function nor run()`);

  await run.installExtension(vsix);
  lap('VSIX installed into a fresh extensions dir');
  await run.startServer({ workspace });
  lap('code-server started');
  ({ page } = await run.launchBrowser({ width: Number(opt.width), height: Number(opt.height) }));
  page.on('pageerror', e => console.error(`[pageerror] ${e}`));
  if (opt.verbose) page.on('console', m => console.error(`[browser:${m.type()}] ${m.text()}`));
  await page.goto(`${run.server.origin}/?folder=${encodeURIComponent(workspace)}`);
  const wb = bind(page);
  await wb.waitForWorkbench();
  lap('workbench ready');

  let shots = 0;
  const screenshot = async (name, locator) => {
    const file = path.join(outDir, name.endsWith('.png') ? name : `${name}.png`);
    // animations: 'disabled' fast-forwards CSS transitions, so e.g. a notification toast that is still sliding in is
    // captured in its final place instead of half off-screen
    await (locator ?? page).screenshot({ path: file, animations: 'disabled' });
    shots++;
    log(`screenshot ${path.relative(process.cwd(), file)}`);
    return file;
  };
  const remaining = timeoutMs - (Date.now() - tStart);
  await withTimeout(
    Promise.resolve(scenario({ page, context: run.context, wb, screenshot, log, workspace, outDir, origin: run.server.origin })),
    Math.max(1000, remaining), `scenario ${path.basename(script)}`);
  lap(`scenario ${path.basename(script)} done, ${shots} screenshot(s)`);
  ok = true;
} catch (e) {
  console.error(e?.stack || String(e));
  if (e?.cause) console.error('caused by:', e.cause?.message || e.cause);
  if (page) await page.screenshot({ path: path.join(outDir, 'failure.png') }).then(() => log(`failure screenshot: ${path.join(outDir, 'failure.png')}`), () => {});
  const t = tail(run.serverLog, 15);
  if (t && !run.server) console.error(`--- last lines of ${run.serverLog}\n${t}`);
} finally {
  const keep = opt['keep-state'] || !ok;
  await run.close({ removeState: !keep });
  if (keep) log(`state (code-server.log, user-data/logs/**/remoteexthost.log, extension logs) kept in ${run.stateDir}`);
}
log(`E2E ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - tStart) / 1000).toFixed(1)} s; screenshots in ${outDir}`);
console.log(ok ? '1 passed, 0 failed' : '0 passed, 1 failed');
process.exit(ok ? EXIT.PASS : EXIT.FAIL);
