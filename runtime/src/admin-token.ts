/**
 * The admin token that guards mutating calls (training, releases). It comes from
 * NST_ADMIN_TOKEN; without one, the first local start generates a random token into
 * `<data>/admin-token` (mode 0600) and later starts reuse it, so a person, the `nst` CLI and
 * every service of one data folder find the same token there.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile } from 'node:fs/promises';
import path from 'node:path';

export const ADMIN_TOKEN_FILE = 'admin-token';

export interface AdminToken {
  token: string;
  /** Where the token lies when it came from (or was generated into) the data folder. */
  file?: string;
  /** True when this start generated the token file. */
  generated: boolean;
}

/** The configured token, else the token file in `dataDir`, created on first use. */
export async function resolveAdminToken(configured: string | undefined, dataDir: string): Promise<AdminToken> {
  if (configured) return { token: configured, generated: false };
  const file = path.join(dataDir, ADMIN_TOKEN_FILE);
  await mkdir(dataDir, { recursive: true });
  const token = randomBytes(32).toString('base64url');
  try {
    // 'wx': never overwrite a token another process (or an earlier start) wrote.
    const handle = await open(file, 'wx', 0o600);
    try {
      await handle.writeFile(`${token}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { token, file, generated: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const existing = (await readFile(file, 'utf8')).trim();
  if (!existing) throw new Error(`admin token file ${file} is empty; delete it to generate a new token`);
  // Tighten permissions in case the file was copied in with a looser mode.
  await chmod(file, 0o600);
  return { token: existing, file, generated: false };
}

/** Reads the token a client should send: the token file in `dataDir`, if there is one. */
export async function readAdminTokenFile(dataDir: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(dataDir, ADMIN_TOKEN_FILE), 'utf8')).trim() || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
