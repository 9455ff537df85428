/**
 * Debian's Chromium driven by playwright-core, for the browser tests. One launch per test file;
 * screenshots go to test-artifacts/ (gitignored) at the repository root.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { needTool } from '@nst/runtime/test-tools';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env['NST_CHROMIUM'] ?? '/usr/bin/chromium';
/** False on a machine without Chromium: the browser suites are skipped and listed at the end. */
export const HAVE_CHROMIUM = needTool('browser tests', `chromium (${CHROMIUM})`, existsSync(CHROMIUM));
export const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Saves a full-page screenshot as test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = `${ARTIFACTS}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Collects page errors and failed console messages so a test can assert there were none. */
export function watchConsole(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  return problems;
}
