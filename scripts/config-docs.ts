/**
 * Prints the settings tables (markdown), one per group, from the declarations (runtime's core
 * and stores, each service's config.ts), for runtime/README.md:
 *   npm run config-docs
 * With --write it replaces the tables between the config-table markers of runtime/README.md
 * (what system-tests/test/settings/settings-docs.test.ts checks):
 *   npm run config-docs -- --write
 */
import { readFile, writeFile } from 'node:fs/promises';
import { settingsDocsMarkdown } from '@nst/runtime/config';
import { PLATFORM_SETTINGS } from './platform-settings';

const table = settingsDocsMarkdown(PLATFORM_SETTINGS);
if (process.argv.includes('--write')) {
  const readme = new URL('../runtime/README.md', import.meta.url);
  const text = await readFile(readme, 'utf8');
  const marked = /(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/;
  if (!marked.test(text)) throw new Error('runtime/README.md has no <!-- config-table:start --> ... <!-- config-table:end --> markers');
  await writeFile(readme, text.replace(marked, (_match, start: string, end: string) => `${start}${table}${end}`));
  process.stdout.write('runtime/README.md: settings tables updated\n');
} else {
  process.stdout.write(table);
}
