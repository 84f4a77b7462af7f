import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
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
    files: [
      '**/*.test.ts',
      'packages/*/test/**/*.ts',
      'packages/api/src/storage/storage-conformance.ts',
    ],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
