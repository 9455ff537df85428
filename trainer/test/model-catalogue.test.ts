/**
 * TrainerService serves the registry it owns over gRPC: WatchVersions (snapshot, then each new
 * style and version, heartbeats, a reconnect brought up to date), FetchModel (header and
 * chunks that add up to the sha256) and KeepPhoto (admin only, into its own kept-photos folder).
 */
import { admin, call, registerTinyStyle, sha256, until } from '@nst/test-kit';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import net from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelPrecision, type FetchModelResponse, type WatchVersionsResponse } from '@nst/proto';
import { CatalogueWatch, type CatalogueUpdate } from '@nst/runtime';
import { startTrainer, type TrainerFixture } from './harness';

let t: TrainerFixture;

beforeAll(async () => {
  t = await startTrainer({ chunkBytes: 4096 });
  await registerTinyStyle(t.registry, 'tiny-wave', [11, 12]);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

function fetchModel(style: string, version: string, precision = ModelPrecision.MODEL_PRECISION_UNSPECIFIED): Promise<FetchModelResponse[]> {
  return new Promise((resolve, reject) => {
    const messages: FetchModelResponse[] = [];
    const stream = t.client.fetchModel({ style, version, precision });
    stream.on('data', (m: FetchModelResponse) => messages.push(m));
    stream.on('error', reject);
    stream.on('end', () => resolve(messages));
  });
}

describe('WatchVersions', () => {
  it('sends the whole catalogue first, then each style and version registered, with heartbeats while idle', async () => {
    const messages: WatchVersionsResponse[] = [];
    const stream = t.client.watchVersions({ heartbeatSeconds: 1 });
    stream.on('data', (m: WatchVersionsResponse) => messages.push(m));
    stream.on('error', () => undefined);
    try {
      const first = await until('the snapshot', () => messages[0]);
      expect(first.event?.$case).toBe('snapshot');
      const snapshot = first.event?.$case === 'snapshot' ? first.event.snapshot : undefined;
      const wave = snapshot?.styles.find((s) => s.id === 'tiny-wave');
      expect(wave?.displayName).toBe('Tiny tiny-wave');
      expect(wave?.versions.map((v) => v.version)).toEqual(['1', '2']);
      const model = await t.registry.readModel('tiny-wave', 2);
      expect(wave?.versions[1]).toMatchObject({ modelSha256: sha256(model), modelSizeBytes: model.length, parentVersion: '1' });

      await registerTinyStyle(t.registry, 'tiny-grain', [21]);
      await registerTinyStyle(t.registry, 'tiny-wave', [13]);
      await until('the new style and version', () => (messages.filter((m) => m.event?.$case !== 'heartbeat').length >= 4 ? true : undefined));
      const events = messages.slice(1).filter((m) => m.event?.$case !== 'heartbeat');
      expect(events.map((m) => m.event?.$case)).toEqual(['styleAdded', 'versionAdded', 'versionAdded']);
      const added = events.flatMap((m) => (m.event?.$case === 'versionAdded' ? [`${m.event.versionAdded.style}@${m.event.versionAdded.version?.version}`] : []));
      expect(added).toEqual(['tiny-grain@1', 'tiny-wave@3']);

      await until('a heartbeat', () => messages.find((m) => m.event?.$case === 'heartbeat'));
    } finally {
      stream.cancel();
    }
  });

  it('refuses a heartbeat interval it will not keep, with the range to use', async () => {
    const error = await new Promise<ServiceError>((resolve) => {
      const stream = t.client.watchVersions({ heartbeatSeconds: 100_000 });
      stream.on('data', () => undefined);
      stream.on('error', resolve);
    });
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(/use 1 to 300, or 0 for the default/);
  });

  it('brings a watcher that reconnects up to date: a version registered while TrainerService was down is reported as new', async () => {
    const updates: { kind: CatalogueUpdate['kind']; added: string[] }[] = [];
    const connections: boolean[] = [];
    const watch = new CatalogueWatch({
      address: t.address,
      heartbeatSeconds: 1,
      backoff: { initialMs: 50, maxMs: 200 },
      onUpdate: (_styles, update) => updates.push({ kind: update.kind, added: update.newVersions.map((n) => `${n.style}@${n.version.version}`) }),
      onConnection: (connected) => connections.push(connected),
    }).start();
    try {
      await watch.ready;
      expect(updates[0]?.added).toContain('tiny-wave@1');
      const before = watch.styles()?.find((s) => s.id === 'tiny-wave')?.versions.length ?? 0;

      await t.service.close();
      await until('the lost stream', () => (connections.includes(false) ? true : undefined));
      // The catalogue is kept while TrainerService is away.
      expect(watch.styles()?.find((s) => s.id === 'tiny-wave')?.versions.length).toBe(before);
      const [registered] = await registerTinyStyle(t.registry, 'tiny-wave', [14]);
      await t.restart({ chunkBytes: 4096 });

      const caughtUp = await until('the reconnect snapshot', () => updates.find((u, i) => i > 0 && u.kind === 'snapshot'));
      expect(caughtUp.added).toEqual([`tiny-wave@${registered}`]);
      expect(connections).toEqual([true, false, true]);
    } finally {
      watch.stop();
    }
  }, 30_000);
});

describe('a TrainerService that stops answering', () => {
  it('is noticed by a watcher after three silent heartbeats, which keeps its catalogue and is back once the server answers again', async () => {
    // A TCP proxy that can stop forwarding without closing anything: a hung server, as the client sees it.
    const sockets: net.Socket[] = [];
    const proxy = net.createServer((inbound) => {
      const upstream = net.connect(Number(t.address.split(':')[1]), '127.0.0.1');
      inbound.pipe(upstream).pipe(inbound);
      sockets.push(inbound, upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as net.AddressInfo).port;
    const lost: Error[] = [];
    const connections: boolean[] = [];
    const watch = new CatalogueWatch({
      address: `127.0.0.1:${port}`,
      heartbeatSeconds: 1,
      backoff: { initialMs: 50, maxMs: 200 },
      onConnection: (connected, error) => {
        connections.push(connected);
        if (error) lost.push(error);
      },
    }).start();
    try {
      await watch.ready;
      const stalledAt = Date.now();
      for (const socket of sockets) socket.pause();
      await until('the silence noticed', () => (connections.includes(false) ? true : undefined));
      expect(Date.now() - stalledAt).toBeGreaterThanOrEqual(2900);
      expect(lost[0]?.message).toMatch(/sent nothing for 3 s/);
      expect(watch.styles()?.some((s) => s.id === 'tiny-wave')).toBe(true);
      for (const socket of sockets) socket.resume();
      await until('the stream back', () => (connections.at(-1) === true && connections.length >= 3 ? true : undefined));
    } finally {
      watch.stop();
      for (const socket of sockets) socket.destroy();
      proxy.close();
    }
  }, 30_000);
});

describe('FetchModel', () => {
  it('streams a header, then chunks that add up to the model and its sha256', async () => {
    const messages = await fetchModel('tiny-wave', '1');
    const header = messages[0]?.kind?.$case === 'header' ? messages[0].kind.header : undefined;
    const chunks = messages.slice(1).map((m) => (m.kind?.$case === 'chunk' ? m.kind.chunk : Buffer.alloc(0)));
    const bytes = Buffer.concat(chunks);
    const model = await t.registry.readModel('tiny-wave', 1);
    expect(header).toMatchObject({ style: 'tiny-wave', version: '1', sha256: sha256(model), sizeBytes: model.length });
    expect(header?.exporterVersion).not.toBe('');
    expect(bytes.equals(Buffer.from(model))).toBe(true);
    expect(chunks.length).toBe(Math.ceil(model.length / 4096));
  });

  it('answers NOT_FOUND naming the versions and styles there are, and INVALID_ARGUMENT for ids that cannot exist', async () => {
    const unknownVersion = (await fetchModel('tiny-wave', '99').catch((e: unknown) => e)) as ServiceError;
    expect(unknownVersion.code).toBe(status.NOT_FOUND);
    expect(unknownVersion.details).toMatch(/style 'tiny-wave' has no version '99'; its versions are: 1, 2/);
    const unknownStyle = (await fetchModel('no-such', '1').catch((e: unknown) => e)) as ServiceError;
    expect(unknownStyle.code).toBe(status.NOT_FOUND);
    expect(unknownStyle.details).toMatch(/known styles: .*tiny-wave/);
    const traversal = (await fetchModel('../etc', '1').catch((e: unknown) => e)) as ServiceError;
    expect(traversal.code).toBe(status.INVALID_ARGUMENT);
  });
});

describe('FetchModel precisions', () => {
  it("sends a version's INT8 model when asked, and NOT_FOUND naming what it has for a version without one", async () => {
    await registerTinyStyle(t.registry, 'tiny-quant', [51], { int8: 'serve' });
    const messages = await fetchModel('tiny-quant', '1', ModelPrecision.MODEL_PRECISION_INT8);
    const header = messages[0]?.kind?.$case === 'header' ? messages[0].kind.header : undefined;
    const bytes = Buffer.concat(messages.slice(1).map((m) => (m.kind?.$case === 'chunk' ? m.kind.chunk : Buffer.alloc(0))));
    const int8 = await t.registry.readModel('tiny-quant', 1, 'int8');
    expect(header).toMatchObject({ precision: ModelPrecision.MODEL_PRECISION_INT8, sha256: sha256(int8), sizeBytes: int8.length });
    expect(bytes.equals(Buffer.from(int8))).toBe(true);
    // UNSPECIFIED is the FP32 model, as before precisions existed.
    const fp32 = await fetchModel('tiny-quant', '1');
    expect(fp32[0]?.kind).toMatchObject({ header: { precision: ModelPrecision.MODEL_PRECISION_FP32, sha256: sha256(await t.registry.readModel('tiny-quant', 1)) } });

    const missing = (await fetchModel('tiny-wave', '1', ModelPrecision.MODEL_PRECISION_INT8).catch((e: unknown) => e)) as ServiceError;
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toMatch(/style 'tiny-wave' version 1 has no int8 model; it has: fp32/);
    const unknown = (await fetchModel('tiny-wave', '1', 7 as ModelPrecision).catch((e: unknown) => e)) as ServiceError;
    expect(unknown.code).toBe(status.INVALID_ARGUMENT);
  });

  it('lists the derived models and the precision each version serves in WatchVersions', async () => {
    const watch = new CatalogueWatch({ address: t.address });
    watch.start();
    try {
      await watch.ready;
      const versions = watch.styles()?.find((s) => s.id === 'tiny-quant')?.versions;
      const int8 = await t.registry.readModel('tiny-quant', 1, 'int8');
      expect(versions?.[0]).toMatchObject({ servePrecision: 'int8', derivedModels: [{ precision: 'int8', sha256: sha256(int8), sizeBytes: int8.length }] });
      expect(watch.styles()?.find((s) => s.id === 'tiny-wave')?.versions[0]).toMatchObject({ servePrecision: 'fp32', derivedModels: [] });
    } finally {
      watch.stop();
    }
  });
});

describe('KeepPhoto', () => {
  const photo = { feedbackId: 'fb-1', style: 'tiny-wave', version: '1', format: 'jpeg', photo: Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]) };

  it('needs the admin token', async () => {
    const missing = (await call(t.client, t.client.keepPhoto, photo, new Metadata()).catch((e: unknown) => e)) as ServiceError;
    expect(missing.code).toBe(status.UNAUTHENTICATED);
    const wrong = (await call(t.client, t.client.keepPhoto, photo, admin('wrong')).catch((e: unknown) => e)) as ServiceError;
    expect(wrong.code).toBe(status.PERMISSION_DENIED);
  });

  it("stores the photo in TrainerService's own kept-photos folder under the rating's id", async () => {
    const { photoRef } = await call(t.client, t.client.keepPhoto, photo, admin());
    expect(photoRef).toBe('fb-1.jpeg');
    expect(await readFile(path.join(t.keptPhotosDir, photoRef))).toEqual(photo.photo);
  });

  it('refuses a photo it cannot name safely or an empty one, saying what to send', async () => {
    const bad = (await call(t.client, t.client.keepPhoto, { ...photo, feedbackId: '../x', format: 'jp/g' }, admin()).catch((e: unknown) => e)) as ServiceError;
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/feedbackId: use the rating's feedback id/);
    expect(bad.details).toMatch(/format: use the image format/);
    const empty = (await call(t.client, t.client.keepPhoto, { ...photo, photo: Buffer.alloc(0) }, admin()).catch((e: unknown) => e)) as ServiceError;
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toMatch(/the photo is empty/);
  });
});
