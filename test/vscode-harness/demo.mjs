// `npm run demo`: the extension in a real VS Code on the bundled examples/ folder. Builds and packages the VSIX,
// then either installs it into a desktop `code` found on PATH and opens examples/ there, or starts the bundled VS
// Code (code-server) on 127.0.0.1 with the VSIX installed and prints the URL to open. Ctrl-C stops the server.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { HarnessRun, log, harnessDir } from './harness.mjs';

const root = path.resolve(harnessDir, '..', '..');
const vsix = path.join(root, 'gatescope.vsix');
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
if (run('npm', ['run', '--silent', 'package']) !== 0) process.exit(1);

const examples = path.join(root, 'examples');
const code = spawnSync('code', ['--version'], { encoding: 'utf8' });
if (code.status === 0 && !process.argv.includes('--bundled')) {
  log(`desktop VS Code ${code.stdout.split('\n')[0]} found on PATH: installing ${path.basename(vsix)} and opening examples/`);
  process.exit(run('code', ['--install-extension', vsix, '--force']) || run('code', [examples]));
}

const h = new HarnessRun({ name: 'demo' });
await h.installExtension(vsix);
const { origin } = await h.startServer({ workspace: examples });
console.log(`\nGatescope is running in VS Code at\n\n    ${origin}/?folder=${encodeURIComponent(examples)}\n\n` +
  'Open it in a browser on this machine. Right-click memory.md → "Train LSTM on File", then Inspect or Step Through.\n' +
  'Press Ctrl-C to stop.\n');
await new Promise((resolve) => { process.on('SIGINT', resolve); process.on('SIGTERM', resolve); });
await h.close({ removeState: true });
