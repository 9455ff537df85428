import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configDocsMarkdown } from './config';

describe('runtime README', () => {
  it('documents exactly the settings the config module reads (regenerate with npm run config-docs)', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    const table = /<!-- config-table:start -->\n([\s\S]*?)<!-- config-table:end -->/.exec(readme)?.[1];
    expect(table).toBe(configDocsMarkdown());
  });
});
