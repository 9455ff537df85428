/**
 * Faults in StyleService, on a real process (inference/src/main.ts) killed with SIGKILL:
 * mid-stream, the client gets UNAVAILABLE and a server restarted on the same data serves; during
 * a burst of SubmitFeedback calls, every rating the service acknowledged is in the feedback
 * store after the restart, exactly once, and clients retrying everything they sent add nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { Rating, type StyleServiceClient, type StylizeResponse } from '@nst/proto';
import { JsonlFeedbackStore } from '@nst/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, freePort, header, photoJpeg, spawnStyleService, stylize, stylizeStream, submitFeedback, uploadMessages, type ServiceProcess } from '@nst/test-kit';

const STYLE = 'mosaic';
const ENV = { NST_INFERENCE_THREADS: '1', NST_TILE_SIZE: '256' };

let dataDir: string;
let address: string;
let server: ServiceProcess | undefined;
let client: StyleServiceClient;

async function kill(process: ServiceProcess): Promise<void> {
  expect((await process.kill('SIGKILL')).signal).toBe('SIGKILL');
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'nst-faults-style-'));
  address = `127.0.0.1:${await freePort()}`;
  server = await spawnStyleService(ENV, { dataDir, address });
  client = connect(Number(address.split(':')[1]));
}, 240_000);

afterAll(async () => {
  client?.close();
  await server?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('StyleService killed with SIGKILL', () => {
  it('mid-stream: the client gets UNAVAILABLE, and a restarted server serves', async () => {
    const large = await photoJpeg(2400, 1800);
    const { call, outcome } = stylizeStream(client, uploadMessages(header(STYLE, { maxDimension: 0 }), large), { deadlineMs: 120_000 });
    // Killed once painting has started (the first tile's progress), so the stream is open both ways.
    await new Promise<void>((resolve) => call.on('data', (m: StylizeResponse) => m.kind?.$case === 'progress' && resolve()));
    await kill(server!);
    const result = await outcome;
    expect(result.error?.code, result.error?.details).toBe(status.UNAVAILABLE);
    expect(result.summary).toBeUndefined();

    server = await spawnStyleService(ENV, { dataDir, address });
    const after = await stylize(client, header(STYLE, { maxDimension: 64 }), await photoJpeg(96, 64), { deadlineMs: 60_000 });
    expect(after.error?.details).toBeUndefined();
    expect(after.summary?.style ?? STYLE).toBe(STYLE);
    expect(after.summary).toBeDefined();
  });

  it('during a burst of SubmitFeedback: every acknowledged rating is kept, once, and retries add nothing', async () => {
    const sent = new Set<string>();
    const acknowledged = new Set<string>();
    for (let round = 0; round < 3; round++) {
      let stop = false;
      let firstAck!: () => void;
      const acked = new Promise<void>((resolve) => (firstAck = resolve));
      const worker = async (): Promise<void> => {
        while (!stop) {
          const id = `fault-${round}-${randomUUID()}`;
          sent.add(id);
          try {
            await submitFeedback(client, { feedbackId: id, requestId: randomUUID(), style: STYLE, version: '1', rating: Rating.RATING_BAD, reason: 'burst' });
            acknowledged.add(id);
            firstAck();
          } catch (error) {
            // Refused only because the server went away mid-call.
            expect([status.UNAVAILABLE, status.CANCELLED, status.INTERNAL]).toContain((error as ServiceError).code);
            return;
          }
        }
      };
      const workers = Array.from({ length: 8 }, worker);
      await acked;
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 400));
      await kill(server!);
      stop = true;
      await Promise.all(workers);

      const store = await JsonlFeedbackStore.open(join(dataDir, 'feedback'), { readOnly: true });
      const ids = (await store.query()).map((record) => record.id);
      await store.close();
      expect(new Set(ids).size).toBe(ids.length);
      expect([...acknowledged].filter((id) => !ids.includes(id))).toEqual([]);

      server = await spawnStyleService(ENV, { dataDir, address });
    }
    expect(acknowledged.size).toBeGreaterThan(10);

    // Clients that never heard back retry everything they sent: all land, none twice.
    for (const id of sent) {
      await submitFeedback(client, { feedbackId: id, requestId: randomUUID(), style: STYLE, version: '1', rating: Rating.RATING_BAD, reason: 'retry' });
    }
    const store = await JsonlFeedbackStore.open(join(dataDir, 'feedback'), { readOnly: true });
    const ids = (await store.query()).map((record) => record.id);
    await store.close();
    expect(ids.length).toBe(sent.size);
    expect(new Set(ids)).toEqual(sent);
  });
});
