import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The dependency direction: a service's code never imports another service's package; what they
 * share lives in the leaves (@nst/proto, @nst/runtime) and they talk over gRPC. Tests that start
 * several services are exempt (they assemble the mesh).
 */
const SERVICES = ['@nst/inference', '@nst/trainer', '@nst/mesh', '@nst/gateway'];
const TESTS = ['**/*.test.ts', '**/test/**', '**/bench/**'];
const layering = (dir, own) => ({
  files: [`${dir}/src/**/*.ts`],
  ignores: TESTS,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: SERVICES.filter((name) => name !== own).flatMap((name) => [name, `${name}/*`]),
            message: 'a service does not import another service: call it over gRPC, or move shared code to @nst/runtime',
          },
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'proto/gen/**', 'web/src/gen/**', 'coverage/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  layering('inference', '@nst/inference'),
  layering('trainer', '@nst/trainer'),
  layering('mesh', '@nst/mesh'),
  layering('gateway', '@nst/gateway'),
  layering('runtime', undefined),
  layering('proto', undefined),
  layering('cli', undefined),
);
