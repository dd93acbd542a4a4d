// ESLint flat config (see README, Development). typescript-eslint's type-aware
// rules on src/ and test/: they read types and catch what tsc does not, such as
// a promise nobody awaits (no-floating-promises), a promise passed where its
// result is ignored (no-misused-promises), `await` on a non-promise
// (await-thenable), an assertion the type already makes
// (no-unnecessary-type-assertion). ESLint's own recommended rules on the plain
// .mjs/.js scripts, benches and bin stubs.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'node_modules/**', 'sdk/**', 'templates/**', 'test/fixtures/**', 'test/vendor/**', '**/*.generated.ts'],
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.json', './tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // An `async` function without `await` is how a function says it returns
      // a promise: a throw becomes a rejection, and fastify handlers and the
      // interfaces it implements rely on that. Removing `async` would change
      // behaviour to please a style rule.
      '@typescript-eslint/require-await': 'off',
      // `_name` is the house way to say "deliberately unused" (an interface's
      // argument, a field dropped from a rest copy).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Tests read the CLI's --json documents with JSON.parse (`any`) and the
      // expect() assertions are what check their shape; a cast at each of the
      // ~700 reads would add noise and catch nothing. src/ keeps these rules.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // `_name`, as in the TypeScript: deliberately unused (a field dropped from a rest copy).
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
);
