import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.cache/**', 'scripts/**/target/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // Boundaries between the layers (DESIGN.md): machines hold no I/O and know only the core
  // vocabulary; formats know no database; the runtime knows plug-ins only through the registry
  // (defaults.ts is where the shipped ones are registered); the core knows nothing above it.
  {
    files: ['machines/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../src/**', '!../src/core', '!../src/core/**'], message: 'Machines import only src/core (no I/O, no plug-ins).' }] }] },
  },
  {
    files: ['src/formats/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/sources/**', '**/sinks/**', '**/runtime/**'], message: 'Formats map the neutral vocabulary; they know no source, sink or runtime.' }] }] },
  },
  {
    files: ['src/runtime/**/*.ts'],
    ignores: ['src/runtime/defaults.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/sources/**', '**/sinks/**'], message: 'The runtime knows plug-ins only through the registry and their declared capabilities (register them in defaults.ts).' }] }] },
  },
  // The registration list imports each shipped plug-in's descriptor, and nothing else of it.
  {
    files: ['src/runtime/defaults.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/sources/*/*', '**/sinks/*/*', '!**/sources/*/descriptor.js', '!**/sinks/*/descriptor.js', '!**/sources/mongodb/connection.js'], message: 'Register a plug-in by its descriptor (descriptor.ts in its folder).' }] }] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/runtime/**', '**/sources/**', '**/sinks/**', '**/formats/**', '**/operators/**', '**/http/**', '**/cli/**'], message: 'The core is the vocabulary everything else imports; it imports none of them.' }] }] },
  },
);
