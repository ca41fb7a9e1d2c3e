// ESLint's and typescript-eslint's recommended rules on the TypeScript sources; run by `npm run lint`
// and, as a tap test, by `npm run test:unit` (test/unit/lint.test.ts).
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.tap/', 'coverage/'] },
  {
    files: ['**/*.ts'],
    extends: [eslint.configs.recommended, tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      // `typeof import('argon2')` stays allowed: it types a module loaded lazily (not at start).
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      // A leading underscore marks a binding left unused on purpose (a field dropped from a copy).
      // (A rest sibling does the same: `({ at, ...rest }) => rest`.)
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // The few plain-JS files: the CLI's entry, the build and test scripts, the tools' configs.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [eslint.configs.recommended],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // The console's one script runs in the browser (the live parts of its pages).
    files: ['console/static/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { ...globals.browser } },
  },
  {
    // Tests match control characters (ESC sequences, C0 controls) on purpose: that is what they check.
    files: ['test/**/*.ts'],
    rules: { 'no-control-regex': 'off' },
  },
);
