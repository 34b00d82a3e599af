// ESLint for laned: typescript-eslint's type-checked rules on the TypeScript (tsconfig.json),
// the recommended rules on the touch UI's browser modules (ui-static/js).
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** What the touch UI's modules use of the browser (Chromium, the kiosk). */
const browser = Object.fromEntries(
  [
    'window',
    'document',
    'location',
    'navigator',
    'console',
    'performance',
    'crypto',
    'fetch',
    'URL',
    'URLSearchParams',
    'TextDecoder',
    'TextEncoder',
    'EventTarget',
    'Event',
    'CustomEvent',
    'Node',
    'HTMLElement',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'requestAnimationFrame',
    'queueMicrotask',
    'localStorage',
    'sessionStorage',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', '.tap/', 'test/e2e/screenshots/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // tap waits for its subtests: t.test() needs no await
        { allowForKnownSafePromises: [{ from: 'package', name: 'PromiseWithSubtest', package: '@tapjs/core' }] },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // handlers implement async interfaces (ServiceLogic, CommandSpec) whether or not they await
      '@typescript-eslint/require-await': 'off',
      // harmless, and fixing them touches every file at once: left to a later pass (eslint --fix)
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // GS1 element strings separate fields with GS (0x1D), FNC1 as the scanner sends it
      'no-control-regex': 'off',
    },
  },
  {
    // declarations of untyped modules name what they declare, used or not
    files: ['**/*.d.ts'],
    rules: { '@typescript-eslint/no-unused-vars': 'off' },
  },
  {
    // Tests read what the daemon wrote (JSON, logs, SQLite rows) without declaring every shape.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: browser },
  },
  {
    // Node scripts in plain JS (test helpers run as child processes)
    files: ['test/**/*.mjs', 'test/**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
  },
);
