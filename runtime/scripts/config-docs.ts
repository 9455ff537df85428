/**
 * Prints the settings table (markdown) from the config module, for the README:
 *   npm run -w @nst/runtime config-docs
 * With --write it replaces the table between the config-table markers of runtime/README.md
 * (what src/readme.test.ts checks):
 *   npm run -w @nst/runtime config-docs -- --write
 */
import { readFile, writeFile } from 'node:fs/promises';
import { configDocsMarkdown } from '../src/config';

const table = configDocsMarkdown();
if (process.argv.includes('--write')) {
  const readme = new URL('../README.md', import.meta.url);
  const text = await readFile(readme, 'utf8');
  const marked = /(<!-- config-table:start -->\n)[\s\S]*?(<!-- config-table:end -->)/;
  if (!marked.test(text)) throw new Error('runtime/README.md has no <!-- config-table:start --> ... <!-- config-table:end --> markers');
  await writeFile(readme, text.replace(marked, (_match, start: string, end: string) => `${start}${table}${end}`));
  process.stdout.write('runtime/README.md: settings table updated\n');
} else {
  process.stdout.write(table);
}
