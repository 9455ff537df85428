import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The dependency direction: a service's code, tests and benches never import another service's
 * package; what they share lives in the leaves (@nst/proto, @nst/runtime, @nst/style-network,
 * @nst/test-kit) and services talk over gRPC. Only system-tests/ assembles several services.
 * No file reaches into another workspace by a relative path: packages are imported by name.
 */
const SERVICES = ['@nst/inference', '@nst/trainer', '@nst/mesh', '@nst/gateway'];
const WORKSPACES = ['proto', 'runtime', 'style-network', 'inference', 'trainer', 'mesh', 'gateway', 'web', 'cli', 'k8s', 'test-kit', 'system-tests'];
const intoAnotherWorkspace = {
  regex: `^(\\.\\./)+(${WORKSPACES.join('|')})/`,
  message: "import the workspace's package by name (@nst/...), not its files by a relative path",
};
const layering = (dir, own) => ({
  files: [`${dir}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: [...SERVICES, '@nst/system-tests'].filter((name) => name !== own).flatMap((name) => [name, `${name}/*`]),
            message: 'a service does not import another service: call it over gRPC, or move shared code to a leaf (@nst/runtime, @nst/style-network, @nst/test-kit); tests that assemble several services go to system-tests/',
          },
          intoAnotherWorkspace,
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
  layering('style-network', undefined),
  layering('test-kit', undefined),
  layering('cli', undefined),
  {
    files: ['system-tests/**/*.ts', 'scripts/**/*.ts', 'k8s/**/*.ts', 'docker/**/*.ts', 'observability/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [intoAnotherWorkspace] }] },
  },
);
