/**
 * CI run of the fuzzer (system-tests/scripts/fuzz.ts runs the long one): a few hundred seeded, mutated
 * uploads, Stylize stream sequences, feedback requests and gRPC-Web frames against a real
 * StyleService process and the gateway in front of it. Every input is answered with a status
 * before its deadline, nothing crashes or fails unexpectedly, and the server's resident
 * memory comes back near its warmed-up baseline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCorpus, materialise, plans, type Corpus, type FuzzInput } from './cases';
import { runInputs, startFuzzTarget, type FuzzTarget } from './target';
import { StylizeImageRequest } from '@nst/proto';

const SEED = 20261123;
const INPUTS = Number(process.env['NST_FUZZ_INPUTS'] ?? 300);
/** Answers that mean a bug: no answer, a broken reply, or a failure the service did not expect. */
const UNEXPECTED = /HANG|NO_STATUS|MALFORMED_REPLY|FETCH_FAILED|CLIENT_TIMEOUT|INTERNAL\b|UNKNOWN|HTTP 5/;

let target: FuzzTarget;
let corpus: Corpus;

beforeAll(async () => {
  target = await startFuzzTarget();
  corpus = await buildCorpus('mosaic', '1');
}, 240_000);

afterAll(async () => target?.close());

/** Each corpus image, valid, through StylizeImage: what warms the server up. */
const validInputs = (): FuzzInput[] =>
  corpus.images.map((image) => ({
    via: 'grpc-image',
    request: Buffer.from(StylizeImageRequest.encode({ header: { style: corpus.style, format: 2, quality: 0, maxDimension: 48, clientId: 'fuzz' }, image: image.bytes }).finish()),
  }));

describe('fuzzing StyleService and the gateway', () => {
  it(`answers ${INPUTS} hostile inputs with statuses, without crashing, hanging or keeping memory`, async () => {
    const warm = await runInputs(target, [...validInputs(), ...validInputs()], { concurrency: 2, deadlineMs: 60_000 });
    expect([...warm.keys()]).toEqual(['grpc-image OK']);
    const baseline = target.server.rss();

    const failures: string[] = [];
    const histogram = await runInputs(
      target,
      (function* () {
        for (const plan of plans(SEED, INPUTS)) yield materialise(corpus, plan);
      })(),
      {
        concurrency: 4,
        deadlineMs: 30_000,
        onAnswer: (answer, index, input) => {
          if (UNEXPECTED.test(answer)) failures.push(`input ${index} (seed ${SEED}, ${input.via}): ${answer}`);
        },
      },
    );
    const answered = [...histogram.values()].reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${answered} inputs`, Object.fromEntries([...histogram].sort()));

    expect(target.server.exited()).toBeUndefined();
    expect(answered).toBe(INPUTS);
    expect(failures).toEqual([]);
    expect(target.server.errorLines).toEqual([]);
    // The mix reaches both the accepting and the refusing paths.
    expect([...histogram.keys()].some((key) => key.endsWith(' OK'))).toBe(true);
    expect([...histogram.keys()].some((key) => key.endsWith('INVALID_ARGUMENT'))).toBe(true);

    // The server still serves, and holds no more memory than a generous margin over warm.
    const after = await runInputs(target, validInputs(), { concurrency: 2, deadlineMs: 60_000 });
    expect([...after.keys()]).toEqual(['grpc-image OK']);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const rss = target.server.rss();
    console.log(`fuzz: StyleService RSS ${(baseline / 2 ** 20).toFixed(0)} MiB warm, ${(rss / 2 ** 20).toFixed(0)} MiB after`);
    expect(rss).toBeLessThan(baseline * 1.5 + 64 * 2 ** 20);
  }, 600_000);
});
