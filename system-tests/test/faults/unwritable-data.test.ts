/**
 * A data folder that cannot be written. These tests run as root here, where chmod does not
 * stop writes, so they use what does: a small tmpfs filled up (a full disk, ENOSPC), a tmpfs
 * remounted read-only (EROFS), and a regular file where a folder should be. Mounting needs
 * root; without it those two are skipped (say so in the output) and the file case still runs.
 */
import { connect, listStyles, registerTinyStyle, spawnStyleService, submitFeedback, TINY_NETWORK } from '@nst/test-kit';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Rating } from '@nst/proto';
import { JsonlFeedbackStore, ModelRegistry, FEEDBACK_FILE } from '@nst/runtime';
import { EXPORTER_VERSION, exportOnnx, initBackend, StyleNet } from '@nst/trainer';
import { recordSkip } from '@nst/runtime/test-tools';
import { afterEach, describe, expect, it } from 'vitest';

const canMount = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  const probe = execFileSync('mktemp', ['-d']).toString().trim();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rmdir', [probe]);
  }
})();
if (!canMount) recordSkip({ suite: 'full-disk and read-only data tests', reason: 'mounting a tmpfs needs root' });

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tmpfs(sizeKiB: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nst-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k`, 'tmpfs', dir]);
  cleanups.push(async () => {
    execFileSync('umount', [dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

describe('a data folder that cannot be written', () => {
  it.skipIf(!canMount)('full disk: SubmitFeedback answers UNAVAILABLE with the reason, keeps serving, and no line is half-written', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nst-full-disk-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    const feedbackDir = await tmpfs(256);
    const server = await spawnStyleService({ NST_FEEDBACK_DIR: feedbackDir }, { dataDir: join(root, 'data') });
    cleanups.push(() => server.close());
    const client = connect(Number(server.address.split(':')[1]));
    cleanups.push(async () => client.close());

    // Leave room for a few ratings only.
    const { bavail, bsize } = await statfs(feedbackDir);
    await writeFile(join(feedbackDir, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - 12 * 1024)));
    const rate = (id: string) =>
      submitFeedback(client, { feedbackId: id, requestId: randomUUID(), style: 'mosaic', version: '1', rating: Rating.RATING_BAD, reason: 'x'.repeat(900) });
    const acknowledged: string[] = [];
    let refused: { id: string; error: ServiceError } | undefined;
    for (let i = 0; i < 100 && !refused; i++) {
      const id = `full-${i}`;
      await rate(id).then(
        () => acknowledged.push(id),
        (error: ServiceError) => (refused = { id, error }),
      );
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(refused?.error.code, refused?.error.details).toBe(status.UNAVAILABLE);
    expect(refused?.error.details).toMatch(/feedback store cannot be written \(ENOSPC: no space left on the device\).*retry later/);
    expect((await listStyles(client)).styles.length).toBeGreaterThan(0);

    // Room is made; the client's retry lands, once.
    await rm(join(feedbackDir, 'filler'));
    await rate(refused!.id);
    await rate(refused!.id);
    await rate('after-room');
    await server.close();

    const raw = await readFile(join(feedbackDir, FEEDBACK_FILE), 'utf8');
    const lines = raw.split('\n');
    expect(lines.pop()).toBe('');
    for (const line of lines) expect(() => JSON.parse(line), line.slice(0, 80)).not.toThrow();
    const store = await JsonlFeedbackStore.open(feedbackDir, { readOnly: true });
    const ids = (await store.query()).map((record) => record.id);
    await store.close();
    expect(ids).toEqual([...acknowledged, refused!.id, 'after-room']);
  });

  it.skipIf(!canMount)('read-only registry: registering a version fails with EROFS, listing still works, nothing half-written', async () => {
    const registryDir = await tmpfs(8 * 1024);
    const registry = await ModelRegistry.open(registryDir);
    await registerTinyStyle(registry, 'read-only-style', [5]);
    execFileSync('mount', ['-o', 'remount,ro', registryDir]);
    await initBackend('wasm');
    const net = StyleNet.create(TINY_NETWORK, 6);
    try {
      const attempt = registry.registerVersion('read-only-style', {
        model: exportOnnx(net),
        weights: net.serialize(),
        metadata: {
          parentVersion: 1,
          exporterVersion: EXPORTER_VERSION,
          network: { ...TINY_NETWORK },
          hyperparameters: {},
          dataHashes: { styleImage: 'test', photos: 'test' },
          losses: {},
          origin: 'finetune',
        },
      });
      await expect(attempt).rejects.toThrow(/EROFS|read-only/);
    } finally {
      net.dispose();
    }
    const reopened = await ModelRegistry.open(registryDir, { readOnly: true });
    const { intact, corrupt } = await reopened.checkVersions('read-only-style');
    expect(intact.map((v) => v.version)).toEqual([1]);
    expect(corrupt).toEqual([]);
    expect((await readdir(join(registryDir, 'read-only-style'))).filter((name) => name.startsWith('.tmp-'))).toEqual([]);
  });

  it('a regular file where the feedback folder should be: StyleService refuses to start, naming the path', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nst-not-a-folder-'));
    cleanups.push(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, 'data'));
    const notAFolder = join(root, 'feedback');
    await writeFile(notAFolder, 'this should have been a folder\n');
    const started = spawnStyleService({ NST_FEEDBACK_DIR: notAFolder }, { dataDir: join(root, 'data'), startTimeoutMs: 120_000 });
    await expect(started).rejects.toThrow(/exited \(1\) before it was ready/);
    await expect(started).rejects.toThrow(new RegExp(`(EEXIST|ENOTDIR)[^\\n]*${notAFolder}`));
    expect(await readFile(notAFolder, 'utf8')).toBe('this should have been a folder\n');
  });
});
