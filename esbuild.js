// One build for every bundle: extension host (node, cjs, `vscode` external), worker, CLI, debug adapter
// (node) and webview (browser, iife). Sourcemaps in dev, minified in production (`--production`).
// Types are checked separately by `tsc --noEmit` (esbuild does not type-check).
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const exists = (p) => fs.existsSync(path.join(__dirname, p));
const node = { platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'] };
const entries = [
  { entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', ...node, banner: { js: '#!/usr/bin/env node' } },
  { entryPoints: ['src/engine/worker.ts'], outfile: 'dist/worker.js', ...node },
  { entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', ...node },
  { entryPoints: ['src/debug/standalone.ts'], outfile: 'dist/debugAdapter.js', ...node },
  { entryPoints: ['webview/main.ts'], outfile: 'dist/webview.js', platform: 'browser', target: 'es2022', format: 'iife' },
].filter((e) => exists(e.entryPoints[0]));

// `--tests`: the in-host integration suites, one file each (mocha adds them by name), mocha from node_modules
if (process.argv.includes('--tests')) {
  const dir = 'test/integration';
  for (const f of fs.readdirSync(path.join(__dirname, dir)).filter((f) => f.endsWith('.ts'))) {
    entries.push({ entryPoints: [`${dir}/${f}`], outfile: `out/${dir}/${f.replace(/\.ts$/, '.js')}`, ...node, external: ['vscode', 'mocha'] });
  }
}

async function main() {
  // a full build starts from an empty dist/, so a production build ships no stale source maps
  if (!watch) fs.rmSync(path.join(__dirname, 'dist'), { recursive: true, force: true });
  const contexts = await Promise.all(entries.map((e) => esbuild.context({
    bundle: true, minify: production, sourcemap: !production, sourcesContent: false, logLevel: 'warning',
    legalComments: 'none', ...e,
  })));
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
  if (fs.existsSync('dist/cli.js')) fs.chmodSync('dist/cli.js', 0o755);
}

main().catch((e) => { console.error(e); process.exit(1); });
