// Shared plumbing for run-tests.mjs and e2e.mjs: start code-server (the real VS Code server + web workbench, with a
// Node extension host) on loopback with all of its state in a per-run directory, and drive Debian's chromium with
// playwright-core. Nothing here reaches beyond 127.0.0.1.
//
// One HarnessRun = one state dir + one short TMPDIR + (at most) one code-server + one browser, torn down by close(),
// by SIGINT/SIGTERM/SIGHUP, or — as a last resort — synchronously in process.on('exit').
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const harnessDir = path.dirname(fileURLToPath(import.meta.url));
export const codeServerDir = path.join(harnessDir, 'node_modules', 'code-server');
export const codeServerEntry = path.join(codeServerDir, 'out', 'node', 'entry.js');
// code-server 4.100.3 needs node 20, the node that runs this script and that `npm ci` compiled its native modules for.
export const codeServerNode = process.env.CODE_SERVER_NODE || process.execPath;
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Exit codes shared by the scripts (documented in README.md). */
export const EXIT = { PASS: 0, FAIL: 1, TIMEOUT: 2, HARNESS: 3, NOT_INSTALLED: 4 };

const t0 = Date.now();
export function log(...args) {
  console.error(`[vscode-harness +${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...args);
}

/** Fails fast, with the fix, when the harness has not been installed. */
export function assertInstalled() {
  const missing = [];
  if (!fs.existsSync(codeServerEntry)) missing.push(codeServerEntry);
  if (!fs.existsSync(chromiumPath)) missing.push(chromiumPath);
  if (missing.length) {
    console.error(`vscode-harness is not installed (missing: ${missing.join(', ')}).\n` +
      'Run: bash .ci/install-vscode-harness.sh   (as root; apt + npm ci in test/vscode-harness)');
    process.exit(EXIT.NOT_INSTALLED);
  }
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/**
 * vscode-remote:// URI for a path on the server. The workbench's `payload` (extensionDevelopmentPath,
 * extensionTestsPath) is resolved against the remote authority, i.e. the server's file system, which is ours.
 */
export function remoteUri(origin, p) {
  const authority = new URL(origin).host;
  return `vscode-remote://${authority}${path.resolve(p).split(path.sep).map(encodeURIComponent).join('/')}`;
}

// Quiet, offline-friendly user settings. code-server keeps User/settings.json on the server side, so writing the file
// before the start is enough.
export const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'workbench.enableExperiments': false,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true,
};

// Flags for /usr/bin/chromium. playwright-core adds --headless, --disable-dev-shm-usage and friends itself.
export const CHROMIUM_ARGS = [
  '--no-sandbox',                    // we run as root in CI; chromium refuses to start sandboxed as root
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking', // no safe-browsing / variations / component-update fetches
  '--disable-component-update',
  '--disable-sync',
  // the browser may only resolve loopback, so no page, webview or worker can reach anything else
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

// A HarnessRun that is still open when the process is interrupted or exits.
const openRuns = new Set();
let handlersInstalled = false;
function installProcessHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
    process.on(sig, async () => {
      log(`${sig}: cleaning up`);
      // give the async close at most 10 s, then let the synchronous exit handler do the rest
      const timer = setTimeout(() => process.exit(128 + num), 10000);
      await Promise.allSettled([...openRuns].map(r => r.close({ reason: sig })));
      clearTimeout(timer);
      process.exit(128 + num);
    });
  }
  // last resort (uncaught exception, process.exit from anywhere): only synchronous work is possible here.
  // playwright-core registers its own 'exit' handler that kills the browser it launched.
  process.on('exit', () => { for (const r of openRuns) r.killSync(); });
}

export class HarnessRun {
  /**
   * @param {object} o
   * @param {string} o.name      used in the default state dir name
   * @param {string} [o.stateDir] all state (user data, extensions, logs, browser profile); default .state/<name>-<time>-<pid>
   */
  constructor({ name, stateDir }) {
    assertInstalled();
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    this.stateDir = path.resolve(stateDir || path.join(harnessDir, '.state', `${name}-${stamp}-${process.pid}`));
    fs.rmSync(this.stateDir, { recursive: true, force: true });
    fs.mkdirSync(this.stateDir, { recursive: true });
    // VS Code's server, git and tsserver create unix sockets (vscode-ipc-<uuid>.sock, ...) in os.tmpdir(). Unix socket
    // paths must stay below 108 bytes, and a CI checkout can be deep, so the per-run TMPDIR lives in the system temp
    // dir (override the parent with VSCODE_HARNESS_TMP) rather than under the state dir. Deleted by close().
    const tmpRoot = process.env.VSCODE_HARNESS_TMP || os.tmpdir();
    fs.mkdirSync(tmpRoot, { recursive: true });
    this.tmpDir = fs.mkdtempSync(path.join(tmpRoot, 'vsh-'));
    this.extensionsDir = path.join(this.stateDir, 'extensions');
    this.userDataDir = path.join(this.stateDir, 'user-data');
    this.configFile = path.join(this.stateDir, 'config.yaml');
    this.serverLog = path.join(this.stateDir, 'code-server.log');
    const userDir = path.join(this.userDataDir, 'User');
    fs.mkdirSync(userDir, { recursive: true });
    fs.mkdirSync(this.extensionsDir, { recursive: true });
    fs.writeFileSync(path.join(userDir, 'settings.json'), JSON.stringify(USER_SETTINGS, null, 2));
    // code-server writes ~/.config/code-server/config.yaml when it has none (even for --version): always pass ours
    fs.writeFileSync(this.configFile, 'auth: none\ncert: false\n');
    this.server = null;
    this.context = null;
    this.closed = false;
    openRuns.add(this);
    installProcessHandlers();
  }

  /** Environment for code-server and everything it spawns (the extension host inherits it). */
  env(extra = {}) {
    const env = { ...process.env, ...extra };
    // Variables of an enclosing VS Code (e.g. running this from VS Code's terminal) would make code-server's CLI
    // talk to *that* instance (VSCODE_IPC_HOOK_CLI) or confuse the server; our own VSCODE_HARNESS* survive.
    for (const k of Object.keys(env)) if (/^VSCODE_/.test(k) && !/^VSCODE_HARNESS/.test(k)) delete env[k];
    delete env.ELECTRON_RUN_AS_NODE;
    delete env.PASSWORD;         // code-server's own auth variables; we run with --auth none
    delete env.HASHED_PASSWORD;
    Object.assign(env, {
      TMPDIR: this.tmpDir,
      XDG_CONFIG_HOME: path.join(this.stateDir, 'xdg-config'),
      XDG_DATA_HOME: path.join(this.stateDir, 'xdg-data'),
      XDG_CACHE_HOME: path.join(this.stateDir, 'xdg-cache'),
      // no extension marketplace: nothing tries to reach open-vsx.org
      EXTENSIONS_GALLERY: '{}',
      // lets tests know where they run (code-server's web workbench + remote extension host)
      VSCODE_HARNESS: 'code-server',
    });
    return env;
  }

  commonArgs() {
    return ['--config', this.configFile, '--user-data-dir', this.userDataDir, '--extensions-dir', this.extensionsDir];
  }

  /** `code-server --install-extension FILE.vsix` into this run's (fresh) extensions dir. */
  async installExtension(vsix) {
    const t = Date.now();
    const out = fs.openSync(path.join(this.stateDir, 'install-extension.log'), 'a');
    const code = await new Promise((resolve, reject) => {
      const p = spawn(codeServerNode, [codeServerEntry, ...this.commonArgs(), '--install-extension', path.resolve(vsix), '--force'],
        { env: this.env(), stdio: ['ignore', out, out] });
      p.on('error', reject);
      p.on('exit', c => resolve(c));
    });
    fs.closeSync(out);
    const text = fs.readFileSync(path.join(this.stateDir, 'install-extension.log'), 'utf8').trim();
    if (code !== 0) throw new Error(`code-server --install-extension exited ${code}:\n${text}`);
    log(`installed ${path.basename(vsix)} in ${Date.now() - t} ms: ${text.split('\n').pop()}`);
  }

  /**
   * Starts code-server on 127.0.0.1:<free port> with auth none. Resolves once /healthz answers.
   * @param {object} o
   * @param {string} [o.workspace] folder to open by default (also usable via ?folder=)
   * @param {string[]} [o.extraArgs]
   * @param {object} [o.env] extra environment variables for the server and the extension host
   */
  async startServer({ workspace, extraArgs = [], env = {} } = {}) {
    const port = await freePort();
    const args = [codeServerEntry, ...this.commonArgs(),
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--disable-getting-started-override', '--ignore-last-opened',
      ...extraArgs];
    if (workspace) args.push(path.resolve(workspace));
    const out = fs.openSync(this.serverLog, 'a');
    const t = Date.now();
    // detached: its own process group, so stop() can take down the VS Code server, extension host, pty host and
    // file watchers in one kill(-pgid)
    const proc = spawn(codeServerNode, args, { env: this.env(env), stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    const origin = `http://127.0.0.1:${port}`;
    this.server = { proc, port, origin };
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode) {
        throw new Error(`code-server exited early (${proc.exitCode ?? proc.signalCode}); log: ${this.serverLog}\n` + tail(this.serverLog));
      }
      try { if ((await fetch(`${origin}/healthz`)).ok) break; } catch { /* not listening yet */ }
      if (Date.now() - t > 60000) throw new Error(`code-server did not answer /healthz within 60 s; log: ${this.serverLog}`);
      await sleep(150);
    }
    log(`code-server (pid ${proc.pid}) up on ${origin} in ${Date.now() - t} ms`);
    return this.server;
  }

  /** Launches /usr/bin/chromium (fresh profile in the state dir) and returns { context, page }. */
  async launchBrowser({ width = 1400, height = 900 } = {}) {
    const { chromium } = await import('playwright-core');
    // playwright-core puts its artifacts dir into os.tmpdir() of *this* process
    process.env.TMPDIR = this.tmpDir;
    const profile = path.join(this.stateDir, 'chromium-profile');
    this.context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumPath,
      headless: true,
      args: CHROMIUM_ARGS,
      env: { ...process.env, TMPDIR: this.tmpDir },
      viewport: { width, height },
      // our own handlers close the browser *and* code-server; playwright's would exit before code-server is stopped
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
    });
    const page = this.context.pages()[0] || await this.context.newPage();
    return { context: this.context, page };
  }

  /** Closes the browser, stops code-server, deletes the TMPDIR; with removeState also the state dir. */
  async close({ removeState = false } = {}) {
    if (this.closed) return;
    this.closed = true;
    try { await withTimeout(this.context?.close(), 10000); } catch { /* browser already gone */ }
    await this.stopServer();
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
    if (removeState) fs.rmSync(this.stateDir, { recursive: true, force: true });
    openRuns.delete(this);
  }

  async stopServer() {
    const proc = this.server?.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode) return;
    const exited = new Promise(r => proc.once('exit', r));
    try { process.kill(-proc.pid, 'SIGTERM'); } catch { /* already gone */ }
    await withTimeout(exited, 5000).catch(() => {});
    try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* already gone */ }
  }

  /** Synchronous cleanup for process.on('exit'). */
  killSync() {
    const proc = this.server?.proc;
    if (proc && proc.exitCode === null) { try { process.kill(-proc.pid, 'SIGKILL'); } catch { /* gone */ } }
    try { fs.rmSync(this.tmpDir, { recursive: true, force: true }); } catch { /* best effort */ }
  }
}

/** Runs a command from the harness's node_modules/.bin synchronously (e.g. vsce). */
export function runBin(name, args, opts = {}) {
  const r = spawnSync(path.join(harnessDir, 'node_modules', '.bin', name), args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${name} ${args.join(' ')} exited ${r.status ?? r.signal}`);
}

export function sleep(ms) { return new Promise(r => setTimeout(r, ms)); }

export function withTimeout(promise, ms, what = 'operation') {
  if (!promise) return Promise.resolve();
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

export function tail(file, lines = 30) {
  try { return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n'); } catch { return ''; }
}
