import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RegistryConflictError, RegistryCorruptError, RegistryNotFoundError, RegistryValidationError } from './errors';
import { ModelRegistry, type CorruptVersion, type VersionRecord } from './model-registry';
import { newStyle, newVersion } from './test-helpers';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bytes = (...values: number[]) => new Uint8Array(values);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-registry-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ModelRegistry', () => {
  it('registers, lists and reads back styles and versions', async () => {
    const registry = await ModelRegistry.open(join(dir, 'registry'));
    const announced: VersionRecord[] = [];
    registry.onVersionRegistered((v) => announced.push(v));
    const style = await registry.createStyle(newStyle('mosaic', { thumbnail: bytes(9, 9) }));
    expect(style).toMatchObject({ id: 'mosaic', displayName: 'Style mosaic', hasThumbnail: true, versions: [] });

    const model = bytes(1, 2, 3, 4);
    const weights = bytes(5, 6, 7);
    const v1 = await registry.registerVersion('mosaic', newVersion(model, weights));
    const v2 = await registry.registerVersion('mosaic', newVersion(bytes(8), bytes(9), { parentVersion: 1, origin: 'finetune', reason: '12 bad ratings' }));
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v1.metadata).toMatchObject({ style: 'mosaic', version: 1, parentVersion: null, sha256: { model: sha(model), weights: sha(weights) } });
    expect(v2.metadata).toMatchObject({ parentVersion: 1, origin: 'finetune', reason: '12 bad ratings' });
    expect(Date.parse(v1.metadata.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(announced.map((v) => v.version)).toEqual([1, 2]);

    // A fresh instance reads everything from disk.
    const reopened = await ModelRegistry.open(join(dir, 'registry'));
    expect((await reopened.listStyles()).map((s) => [s.id, s.versions])).toEqual([['mosaic', [1, 2]]]);
    expect((await reopened.listVersions('mosaic')).map((v) => v.metadata)).toEqual([v1.metadata, v2.metadata]);
    expect(await reopened.getVersion('mosaic', '1')).toEqual(v1);
    expect((await reopened.latestVersion('mosaic')).version).toBe(2);
    expect(await reopened.readModel('mosaic', 1)).toEqual(Buffer.from(model));
    expect(await reopened.readWeights('mosaic', 1)).toEqual(Buffer.from(weights));
    expect(await reopened.readStyleImage('mosaic')).toEqual(Buffer.from(newStyle('x').styleImage));
    expect(await reopened.readThumbnail('mosaic')).toEqual(Buffer.from([9, 9]));
    const metadataOnDisk = JSON.parse(await readFile(v1.paths.metadata, 'utf8')) as unknown;
    expect(metadataOnDisk).toEqual(v1.metadata);
  });

  it('makes version files read-only', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('hatch'));
    const v = await registry.registerVersion('hatch', newVersion(bytes(1), bytes(2)));
    for (const file of [v.paths.model, v.paths.weights, v.paths.metadata]) expect((await stat(file)).mode & 0o777).toBe(0o444);
  });

  it('gives concurrent registrations distinct consecutive numbers', async () => {
    const registry = await ModelRegistry.open(dir);
    const other = await ModelRegistry.open(dir); // a second instance shares the folder, not the lock
    await registry.createStyle(newStyle('swirl'));
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? other : registry).registerVersion('swirl', newVersion(bytes(i), bytes(i, i)))),
    );
    expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const r of results) expect(await registry.readModel('swirl', r.version)).toEqual(Buffer.from(bytes(results.indexOf(r))));
  });

  it.each(['../etc', 'a/b', '..', '.', '', 'Mosaic', '-lead', 'x'.repeat(49), 'a\0b', '.tmp-1-ab', 'a b'])(
    'rejects the style id %j before touching the disk',
    async (id) => {
      const registry = await ModelRegistry.open(dir);
      await expect(registry.getStyle(id)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(registry.listVersions(id)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(registry.readModel(id, 1)).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(registry.createStyle(newStyle(id))).rejects.toBeInstanceOf(RegistryValidationError);
      await expect(registry.registerVersion(id, newVersion(bytes(1), bytes(1)))).rejects.toBeInstanceOf(RegistryValidationError);
      expect(() => registry.styleImagePath(id)).toThrow(RegistryValidationError);
    },
  );

  it.each(['0', '-1', '01', '1.5', '../1', '1/../2', ' 1', 'latest', 0, -3, 1.5, Number.NaN])('rejects the version %j', async (version) => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('mosaic'));
    await expect(registry.getVersion('mosaic', version)).rejects.toBeInstanceOf(RegistryValidationError);
    await expect(registry.readWeights('mosaic', version)).rejects.toBeInstanceOf(RegistryValidationError);
  });

  it('reports unknown styles and versions as not found', async () => {
    const registry = await ModelRegistry.open(dir);
    await expect(registry.getStyle('nope')).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(registry.registerVersion('nope', newVersion(bytes(1), bytes(1)))).rejects.toBeInstanceOf(RegistryNotFoundError);
    await registry.createStyle(newStyle('mosaic'));
    await expect(registry.getVersion('mosaic', 1)).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(registry.latestVersion('mosaic')).rejects.toBeInstanceOf(RegistryNotFoundError);
    await expect(registry.readModel('mosaic', 7)).rejects.toBeInstanceOf(RegistryNotFoundError);
  });

  it('refuses a taken style id, bad metadata and an unknown parent', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('mosaic'));
    await expect(registry.createStyle(newStyle('mosaic'))).rejects.toBeInstanceOf(RegistryConflictError);
    await expect(registry.registerVersion('mosaic', newVersion(bytes(1), bytes(1), { parentVersion: 3 }))).rejects.toThrow(/parent version 3/);
    const extra = { ...newVersion(bytes(1), bytes(1)), metadata: { ...newVersion(bytes(1), bytes(1)).metadata, version: 9 } };
    await expect(registry.registerVersion('mosaic', extra)).rejects.toBeInstanceOf(RegistryValidationError);
    await expect(registry.registerVersion('mosaic', newVersion(bytes(), bytes(1)))).rejects.toThrow(/model bytes/);
    expect(await registry.listVersions('mosaic')).toEqual([]);
    expect((await readdir(join(dir, 'mosaic'))).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('copies seed styles it lacks at open, and leaves styles it has alone', async () => {
    const seedDir = join(dir, 'seed');
    const seed = await ModelRegistry.open(seedDir);
    await seed.createStyle(newStyle('elephants', { thumbnail: bytes(7) }));
    const starter = await seed.registerVersion('elephants', newVersion(bytes(1, 1), bytes(2, 2), { origin: 'starter' }));
    await seed.createStyle(newStyle('hatch'));
    await writeFile(join(seedDir, 'README.md'), 'not a style');
    await mkdir(join(seedDir, 'not-a-style'));

    const root = join(dir, 'data');
    const registry = await ModelRegistry.open(root, { seedFrom: seedDir });
    expect((await registry.listStyles()).map((s) => [s.id, s.versions, s.hasThumbnail])).toEqual([
      ['elephants', [1], true],
      ['hatch', [], false],
    ]);
    expect((await registry.getVersion('elephants', 1)).metadata).toEqual(starter.metadata);
    expect(await registry.readModel('elephants', 1)).toEqual(Buffer.from([1, 1]));
    expect((await stat(join(root, 'elephants/versions/1/model.onnx'))).mode & 0o777).toBe(0o444);
    expect(await readdir(root)).toEqual(expect.not.arrayContaining(['README.md', 'not-a-style']));

    // The data folder's own history wins over the seed's numbering on the next open.
    await registry.registerVersion('elephants', newVersion(bytes(3), bytes(4), { parentVersion: 1, origin: 'finetune' }));
    await seed.registerVersion('elephants', newVersion(bytes(5), bytes(6), { origin: 'starter', reason: 'retrained with the ImageNet loss' }));
    const again = await ModelRegistry.open(root, { seedFrom: seedDir });
    expect(await again.readModel('elephants', 2)).toEqual(Buffer.from([3]));
  });

  it('registers a retrained starter version as the next version of a style it has, once, however many processes open it', async () => {
    const seedDir = join(dir, 'seed');
    const seed = await ModelRegistry.open(seedDir);
    await seed.createStyle(newStyle('elephants'));
    await seed.registerVersion('elephants', newVersion(bytes(1, 1), bytes(2, 2), { origin: 'starter' }));
    const root = join(dir, 'data');
    const registry = await ModelRegistry.open(root, { seedFrom: seedDir });
    const announced: number[] = [];
    registry.onVersionRegistered((v) => announced.push(v.version));
    await registry.registerVersion('elephants', newVersion(bytes(3), bytes(4), { parentVersion: 1, origin: 'finetune' }));

    await seed.registerVersion('elephants', newVersion(bytes(5), bytes(6), { origin: 'starter', reason: 'retrained with the ImageNet loss' }));
    // Three processes starting at once (start.ts, StyleService, a seed job) see the new starter.
    await Promise.all([1, 2, 3].map(() => ModelRegistry.open(root, { seedFrom: seedDir })));
    const versions = await registry.listVersions('elephants');
    expect(versions.map((v) => [v.version, v.metadata.origin])).toEqual([
      [1, 'starter'],
      [2, 'finetune'],
      [3, 'starter'],
    ]);
    expect(await registry.readModel('elephants', 3)).toEqual(Buffer.from([5]));
    expect(versions[2]!.metadata).toMatchObject({ parentVersion: null, reason: 'retrained with the ImageNet loss' });
    await ModelRegistry.open(root, { seedFrom: seedDir });
    expect((await registry.listVersions('elephants')).length).toBe(3);
  });

  it('reports a version whose files do not match their sha256 as corrupt, and never serves it', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('mosaic'));
    await registry.registerVersion('mosaic', newVersion(bytes(1, 2, 3), bytes(4, 5, 6)));
    const v2 = await registry.registerVersion('mosaic', newVersion(bytes(7, 8, 9), bytes(10, 11, 12)));
    const v3 = await registry.registerVersion('mosaic', newVersion(bytes(13), bytes(14)));
    const corrupt: CorruptVersion[] = [];
    registry.onCorruptVersion((c) => corrupt.push(c));

    await chmod(v2.paths.weights, 0o644);
    await writeFile(v2.paths.weights, bytes(10, 11, 99)); // same size, one byte flipped
    await chmod(v3.paths.metadata, 0o644);
    await writeFile(v3.paths.metadata, '{"style": "mosaic", "vers');

    for (const reader of [registry, await ModelRegistry.open(dir)]) {
      expect((await reader.listVersions('mosaic')).map((v) => v.version)).toEqual([1]);
      expect((await reader.latestVersion('mosaic')).version).toBe(1);
      const checked = await reader.checkVersions('mosaic');
      expect(checked.corrupt).toEqual([
        { style: 'mosaic', version: 2, reason: 'weights.bin does not match its sha256' },
        { style: 'mosaic', version: 3, reason: 'metadata.json is not JSON' },
      ]);
      await expect(reader.getVersion('mosaic', 2)).rejects.toBeInstanceOf(RegistryCorruptError);
      await expect(reader.readWeights('mosaic', 2)).rejects.toBeInstanceOf(RegistryCorruptError);
      await expect(reader.readModel('mosaic', 3)).rejects.toBeInstanceOf(RegistryCorruptError);
    }
    expect(corrupt.map((c) => c.version)).toEqual([2, 3]);
  });

  it('notices damage done after a version was verified', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('mosaic'));
    const v1 = await registry.registerVersion('mosaic', newVersion(bytes(1, 2, 3), bytes(4)));
    expect(await registry.readModel('mosaic', 1)).toEqual(Buffer.from([1, 2, 3]));
    await chmod(v1.paths.model, 0o644);
    await writeFile(v1.paths.model, bytes(1, 2, 4));
    await expect(registry.readModel('mosaic', 1)).rejects.toBeInstanceOf(RegistryCorruptError);
    expect(await registry.listVersions('mosaic')).toEqual([]);
  });

  it('ignores temporary folders left by a dead writer, and removes them at open', async () => {
    const registry = await ModelRegistry.open(dir);
    await registry.createStyle(newStyle('mosaic'));
    await registry.registerVersion('mosaic', newVersion(bytes(1), bytes(2)));
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max, so never alive
    const abandoned = join(dir, 'mosaic', `.tmp-${deadPid}-abc`);
    await mkdir(abandoned);
    await writeFile(join(abandoned, 'model.onnx'), 'half');
    const abandonedStyle = join(dir, `.tmp-${deadPid}-def`);
    await mkdir(abandonedStyle);
    const live = join(dir, 'mosaic', `.tmp-${process.pid}-ghi`);
    await mkdir(live);
    await mkdir(join(dir, 'mosaic', 'versions', '.tmp-junk'));

    expect((await registry.listVersions('mosaic')).map((v) => v.version)).toEqual([1]);
    expect((await registry.listStyles()).map((s) => s.id)).toEqual(['mosaic']);
    await ModelRegistry.open(dir);
    expect(await readdir(join(dir, 'mosaic'))).toEqual(expect.arrayContaining([`.tmp-${process.pid}-ghi`]));
    expect(await readdir(join(dir, 'mosaic'))).not.toContain(`.tmp-${deadPid}-abc`);
    expect(await readdir(dir)).not.toContain(`.tmp-${deadPid}-def`);
  });

  it('lets a watcher see versions and styles another registry instance writes', async () => {
    const writer = await ModelRegistry.open(dir);
    await writer.createStyle(newStyle('mosaic'));
    await writer.registerVersion('mosaic', newVersion(bytes(1), bytes(2)));
    const watcher = await ModelRegistry.open(dir, { readOnly: true });
    const seen: string[] = [];
    watcher.onVersionRegistered((v) => seen.push(`${v.style}/${v.version}`));
    watcher.onStyleCreated((s) => seen.push(s.id));
    const watch = watcher.watch({ intervalMs: 20 });
    try {
      await watch.ready;
      await writer.registerVersion('mosaic', newVersion(bytes(3), bytes(4)));
      await writer.createStyle(newStyle('hatch'));
      await writer.registerVersion('hatch', newVersion(bytes(5), bytes(6)));
      await expect.poll(() => [...seen].sort(), { timeout: 30_000, interval: 20 }).toEqual(['hatch', 'hatch/1', 'mosaic/2']);
      expect(seen.indexOf('hatch')).toBeLessThan(seen.indexOf('hatch/1'));
    } finally {
      watch.stop();
    }
  });

  it('refuses to write when opened read-only', async () => {
    await expect(ModelRegistry.open(join(dir, 'missing'), { readOnly: true })).rejects.toThrow(/does not exist/);
    const registry = await ModelRegistry.open(dir, { readOnly: true });
    await expect(registry.createStyle(newStyle('mosaic'))).rejects.toThrow(/read-only/);
  });
});
