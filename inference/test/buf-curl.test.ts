/**
 * StyleService through an independent client: `buf curl` (Go, connect-go) discovers the API by
 * server reflection alone, with no proto files, and speaks gRPC over HTTP/2 cleartext.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { photoJpeg, sha256 } from '@nst/test-kit';
import { startHarness, type Harness } from './harness';

const run = promisify(execFile);
const buf = fileURLToPath(new URL('../../node_modules/.bin/buf', import.meta.url));

let harness: Harness;
let photo: Buffer;

beforeAll(async () => {
  harness = await startHarness();
  photo = await photoJpeg(120, 90);
});

afterAll(async () => {
  await harness?.close();
});

/** Runs buf curl against the harness; resolves with stdout, or rejects with its stderr. */
async function curl(method: string, ...args: string[]): Promise<string> {
  const target = `http://127.0.0.1:${harness.port}${method ? `/${method}` : ''}`;
  // Asynchronous on purpose: the server runs in this process and must keep answering.
  const { stdout } = await run(buf, ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args, target], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** buf curl prints a stream's messages as consecutive pretty JSON objects. */
function jsonStream(text: string): Array<Record<string, unknown>> {
  return text
    .split(/\n(?=\{)/)
    .filter((part) => part.trim())
    .map((part) => JSON.parse(part) as Record<string, unknown>);
}

function decodeReply(messages: Array<Record<string, unknown>>) {
  const output = Buffer.concat(
    messages.filter((m) => typeof m['chunk'] === 'string').map((m) => Buffer.from(m['chunk'] as string, 'base64')),
  );
  return { output, summary: messages.at(-1)?.['summary'] as Record<string, unknown> | undefined };
}

describe('StyleService via buf curl and server reflection', () => {
  it('lists StyleService and health methods by reflection', async () => {
    const methods = (await curl('', '--list-methods')).trim().split('\n');
    expect(methods).toEqual(
      expect.arrayContaining([
        'nst.v1.StyleService/ListStyles',
        'nst.v1.StyleService/Stylize',
        'nst.v1.StyleService/StylizeImage',
        'nst.v1.StyleService/SubmitFeedback',
        'grpc.health.v1.Health/Check',
      ]),
    );
  });

  it('reports SERVING on grpc.health.v1 for the server and for nst.v1.StyleService', async () => {
    expect(JSON.parse(await curl('grpc.health.v1.Health/Check'))).toEqual({ status: 'SERVING' });
    const named = await curl('grpc.health.v1.Health/Check', '-d', JSON.stringify({ service: 'nst.v1.StyleService' }));
    expect(JSON.parse(named)).toEqual({ status: 'SERVING' });
  });

  it('calls ListStyles', async () => {
    const reply = JSON.parse(await curl('nst.v1.StyleService/ListStyles')) as { styles: Array<{ id: string; latestVersion: string }> };
    expect(reply.styles.map((s) => s.id)).toEqual(['tiny-grain', 'tiny-wave']);
    expect(reply.styles.find((s) => s.id === 'tiny-wave')?.latestVersion).toBe('2');
  });

  it('stylizes with StylizeImage and with a chunked bidirectional Stylize', async () => {
    const head = { style: 'tiny-wave', version: '1', format: 'OUTPUT_FORMAT_PNG', client_id: 'buf-curl' };
    const single = decodeReply(
      jsonStream(await curl('nst.v1.StyleService/StylizeImage', '-d', JSON.stringify({ header: head, image: photo.toString('base64') }))),
    );
    expect(single.summary).toMatchObject({ width: 120, height: 90, version: '1', contentType: 'image/png' });
    expect(single.summary?.['sha256']).toBe(sha256(single.output));
    expect((await sharp(single.output).metadata()).width).toBe(120);

    const half = Math.floor(photo.length / 2);
    const messages = [
      { header: head },
      { chunk: photo.subarray(0, half).toString('base64') },
      { chunk: photo.subarray(half).toString('base64') },
    ];
    const streamed = decodeReply(jsonStream(await curl('nst.v1.StyleService/Stylize', '-d', messages.map((m) => JSON.stringify(m)).join('\n'))));
    expect(streamed.summary?.['sha256']).toBe(single.summary?.['sha256']);
  });

  it('submits feedback', async () => {
    const reply = JSON.parse(
      await curl(
        'nst.v1.StyleService/SubmitFeedback',
        '-d',
        JSON.stringify({ feedback_id: 'buf-curl-1', style: 'tiny-wave', version: '2', rating: 'RATING_GOOD', client_id: 'buf-curl' }),
      ),
    );
    expect(reply).toEqual({ feedbackId: 'buf-curl-1' });
    expect((await harness.feedbackEntries()).map((e) => e.id)).toContain('buf-curl-1');
  });

  it('sees the status code and message of a refusal', async () => {
    const failure = await curl(
      'nst.v1.StyleService/StylizeImage',
      '-d',
      JSON.stringify({ header: { style: 'no-such-style' }, image: photo.toString('base64') }),
    ).then(
      () => undefined,
      (error: { stderr: string }) => error.stderr,
    );
    expect(JSON.parse(failure ?? '{}')).toEqual({
      code: 'not_found',
      message: "style 'no-such-style' does not exist; known styles: tiny-grain, tiny-wave",
    });
  });
});
