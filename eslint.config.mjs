import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

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
    ignores: ['src/engine/worker.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'The engine must not import vscode.' }, ...nodeBuiltins.map((name) => ({ name, message: 'The engine must not import Node built-ins.' }))],
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
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Tests are seeded: use Rng.' }],
    },
  },
);
