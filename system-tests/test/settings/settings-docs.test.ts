/**
 * runtime/README.md documents exactly the settings the platform reads: the core and store
 * groups of @nst/runtime and each service's own group, as `npm run config-docs -- --write`
 * writes them; no variable is declared by two groups.
 */
import { readFile } from 'node:fs/promises';
import { settingsDocs, settingsDocsMarkdown } from '@nst/runtime/config';
import { describe, expect, it } from 'vitest';
import { PLATFORM_SETTINGS } from './platform-settings';

describe('the settings', () => {
  it('are documented in runtime/README.md exactly as declared (regenerate with npm run config-docs -- --write)', async () => {
    const readme = await readFile(new URL('../../../runtime/README.md', import.meta.url), 'utf8');
    const tables = /<!-- config-table:start -->\n([\s\S]*?)<!-- config-table:end -->/.exec(readme)?.[1];
    expect(tables).toBe(settingsDocsMarkdown(PLATFORM_SETTINGS));
  });

  it('are each declared once, by one group, with a description and a default', () => {
    const names = PLATFORM_SETTINGS.flatMap((group) => settingsDocs(group).map((doc) => doc.name));
    expect(names.filter((name, i) => names.indexOf(name) !== i)).toEqual([]);
    for (const doc of PLATFORM_SETTINGS.flatMap((group) => settingsDocs(group))) {
      expect(doc.name).toMatch(/^(NST_[A-Z_]+|ELASTICSEARCH_(URL|API_KEY|USERNAME|PASSWORD))$/);
      expect(doc.description.length, doc.name).toBeGreaterThan(10);
      expect(doc.default.length, doc.name).toBeGreaterThan(0);
    }
    // Every setting the platform reads, each once.
    expect(names).toHaveLength(75);
  });
});
