import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const engineBannedPaths = [{ name: 'vscode', message: 'The engine must not import vscode.' }, ...nodeBuiltins.map((name) => ({ name, message: 'The engine must not import Node built-ins.' }))];

export default tseslint.config(
  { ignores: ['dist/**', 'out/**', 'node_modules/**', 'test/vscode-harness/node_modules/**', 'test/artifacts/**', 'media/**', '**/*.js', '**/*.mjs', '**/*.py', 'src/engine/wasm/assembly/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  {
    // The engine is pure numerics: it runs in tests, the worker, the CLI and (later) the browser.
    files: ['src/engine/**/*.ts'],
    // the thread plumbing: the protocol worker and the Node implementation of parallel/shards.ts's ThreadHost
    ignores: ['src/engine/worker.ts', 'src/engine/parallel/node*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: engineBannedPaths,
        patterns: [{ group: ['../*', '!../engine/*'], message: 'The engine imports only the engine.' }],
      }],
      'no-restricted-globals': ['error',
        { name: 'window', message: 'No DOM in the engine.' }, { name: 'document', message: 'No DOM in the engine.' },
        { name: 'process', message: 'No Node globals in the engine.' }, { name: 'Buffer', message: 'No Node globals in the engine.' },
        { name: 'require', message: 'No Node globals in the engine.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the seeded Rng.' }],
    },
  },
  {
    // the engine's core depends on the Kernels interface and speedups.ts, never on its speed-ups: the WebAssembly
    // kernels (wasm/) and the helper threads (parallel/) depend on the core and reach it through backend.ts
    files: ['src/engine/*.ts'],
    ignores: ['src/engine/worker.ts', 'src/engine/backend.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: engineBannedPaths,
        patterns: [
          { group: ['../*', '!../engine/*'], message: 'The engine imports only the engine.' },
          { group: ['./wasm/*', './parallel/*'], message: "The engine's core depends on the Kernels interface and speedups.ts; the wasm kernels and helper threads are wired in by backend.ts." },
        ],
      }],
    },
  },
  {
    // src/engine/wasm, parallel and pytorch are engine too: from there, the rest of the engine is one level up
    files: ['src/engine/wasm/**/*.ts', 'src/engine/parallel/**/*.ts', 'src/engine/pytorch/**/*.ts'],
    ignores: ['src/engine/parallel/node*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: engineBannedPaths,
        patterns: [{ group: ['../../*'], message: 'The engine imports only the engine.' }],
      }],
    },
  },
  {
    // the debugger is layered as vscode-mock-debug is: runtime (no vscode, no DAP, no Node I/O) → DAP session
    // (no vscode) → activation.ts, the only file that touches VS Code
    files: ['src/debug/**/*.ts'],
    ignores: ['src/debug/activation.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'Only src/debug/activation.ts imports vscode.' }] }] },
  },
  {
    files: ['src/debug/{runtime,textmap,timeline,breakpoints}.ts', 'src/debug/expr/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The debug runtime imports neither vscode nor Node.' }, ...nodeBuiltins.map((name) => ({ name, message: 'The debug runtime gets its I/O injected.' }))],
        patterns: [{ group: ['@vscode/*'], message: 'The debug runtime does not know DAP.' }],
      }],
    },
  },
  {
    // the boundaries' shared language: pure like the engine, and of the engine it names only the dependency-free
    // modules (types.ts, errors.ts), so the webview's bundle and type-check never pull the engine in
    files: ['src/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The protocol is shared with the webview and the worker: no vscode.' }, ...nodeBuiltins.map((name) => ({ name, message: 'The protocol must not import Node built-ins.' }))],
        patterns: [{ group: ['../*', '!../engine', '../engine/*', '!../engine/types', '!../engine/errors'], message: 'The protocol imports only itself and src/engine/types.ts, src/engine/errors.ts.' }],
      }],
      'no-restricted-globals': ['error', { name: 'window', message: 'No DOM in the protocol.' }, { name: 'document', message: 'No DOM in the protocol.' },
        { name: 'process', message: 'No Node globals in the protocol.' }, { name: 'Buffer', message: 'No Node globals in the protocol.' }],
    },
  },
  {
    // browser code: it may import the shared protocol (and engine types through it), chart.js and itself only
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The webview runs in a browser: no vscode.' }, ...nodeBuiltins.map((name) => ({ name, message: 'The webview runs in a browser.' }))],
        patterns: [{ group: ['../src/*', '../../src/*', '!../src/protocol', '!../src/protocol/*', '!../../src/protocol', '!../../src/protocol/*'], message: 'The webview may import only src/protocol from the host side.' }],
      }],
    },
  },
  {
    // views get what they use through their context (webview/context.ts): never the composition root, the host
    // bridge or the exporter (the store's state and actions reach them as a narrow Pick of ViewContext)
    files: ['webview/views/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The webview runs in a browser: no vscode.' }, ...nodeBuiltins.map((name) => ({ name, message: 'The webview runs in a browser.' }))],
        patterns: [
          { group: ['../src/*', '../../src/*', '!../src/protocol', '!../src/protocol/*', '!../../src/protocol', '!../../src/protocol/*'], message: 'The webview may import only src/protocol from the host side.' },
          { group: ['../app', '../bridge', '../exporter', '../main'], message: 'Views get what they use through their context (webview/context.ts).' },
        ],
      }],
    },
  },
  {
    // the state store, the host bridge and the data shapers run without a DOM (unit-tested in Node)
    files: ['webview/store.ts', 'webview/bridge.ts', 'webview/data/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error', ...['window', 'document', 'requestAnimationFrame', 'HTMLElement', 'HTMLCanvasElement']
        .map((name) => ({ name, message: 'No DOM in the store, the bridge or data/: the app injects what they need.' }))],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Tests are seeded: use Rng.' }],
    },
  },
);
