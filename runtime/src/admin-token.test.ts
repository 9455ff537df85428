import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveAdminToken } from './admin-token';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('admin token', () => {
  it('is generated once into the data folder, readable only by its owner, and reused', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'nst-auth-'));
    dirs.push(dir);
    const first = await resolveAdminToken(undefined, dir);
    expect(first.generated).toBe(true);
    expect(first.token.length).toBeGreaterThanOrEqual(40);
    expect((await stat(first.file!)).mode & 0o777).toBe(0o600);
    expect((await readFile(first.file!, 'utf8')).trim()).toBe(first.token);
    const second = await resolveAdminToken(undefined, dir);
    expect(second).toEqual({ token: first.token, file: first.file, generated: false });
  });

  it('comes from the configuration when set, without touching the data folder', async () => {
    const dir = path.join(tmpdir(), 'nst-auth-never-created');
    expect(await resolveAdminToken('configured-token', dir)).toEqual({ token: 'configured-token', generated: false });
    await expect(stat(dir)).rejects.toThrow();
  });

});
