/**
 * The built web app (web/dist). A fresh clone has none, so the gateway builds it on start when
 * it is missing (Vite, about ten seconds); `npm run build` builds it ahead of time.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** web/ in this repository. */
export const WEB_ROOT = fileURLToPath(new URL('../../web/', import.meta.url));
/** web/dist: what the gateway serves. */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

export interface WebAppLogger {
  info(fields: object, message?: string): void;
}

/** Builds web/dist with Vite unless it already holds an index.html. Returns the dist folder. */
export async function ensureWebApp(logger?: WebAppLogger, dist = WEB_DIST): Promise<string> {
  if (existsSync(`${dist}/index.html`)) return dist;
  logger?.info({ dist }, 'web app not built yet; building it with Vite');
  return buildWebApp(dist, logger);
}

/** Builds the web app from the current sources into `outDir` (tests build their own copy). */
export async function buildWebApp(outDir: string, logger?: WebAppLogger): Promise<string> {
  const started = performance.now();
  // Vite is a build tool of @nst/web; load it only when a build is needed.
  const { build } = await import('vite');
  await build({ root: WEB_ROOT, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  logger?.info({ dist: outDir, ms: Math.round(performance.now() - started) }, 'web app built');
  return outDir;
}
