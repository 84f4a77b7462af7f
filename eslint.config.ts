import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['**/node_modules/**', '**/dist/**', 'scripts/*.mjs', '.nexus-data/**'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { ignoreRestSiblings: true, varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': [
        'error',
        { allowConstantLoopConditions: true },
      ],
    },
  },
  {
    // No import cycles, type-only imports included: a module reads from the bottom up.
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver()],
      'import-x/extensions': ['.ts', '.mjs', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            {
              target: './packages/worker/src',
              from: './packages/api',
              message: 'The worker talks to the API over HTTP only (api-client/nexus-client.ts).',
            },
            {
              target: './packages/api/src',
              from: './packages/worker',
              message: 'The API knows no worker internals; shared shapes live in @nexus/core.',
            },
            {
              target: './packages/core/src',
              from: ['./packages/api', './packages/worker'],
              message: '@nexus/core is the bottom layer; it imports no other package.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests, benchmarks and scripts reach another package through its exports (`@nexus/api`,
    // `@nexus/api/testing`, ...), never by a path into its folders.
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '../packages/**',
                ...['../', '../../', '../../../', '../../../../'].flatMap((up) =>
                  ['api', 'worker', 'core'].map((pkg) => `${up}${pkg}/**`),
                ),
              ],
              message:
                'Import another package by its name: @nexus/core, @nexus/api, @nexus/worker, or their /testing kits.',
            },
          ],
        },
      ],
    },
  },
  {
    // STYLE.md #12: the domain stays free of runtimes and SDKs.
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', '@azure/*', 'hono', 'hono/*', '@hono/*', 'pino', 'zod'],
              message:
                '@nexus/core holds the domain only; put runtime, SDK and HTTP code in @nexus/api or @nexus/worker.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'packages/*/test/**/*.ts', 'packages/*/src/testing/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
