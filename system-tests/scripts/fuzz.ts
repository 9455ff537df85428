/**
 * The long fuzz run (the CI run is system-tests/test/fuzz/fuzz.test.ts): seeded, mutated uploads,
 * Stylize stream sequences, feedback requests and gRPC-Web frames against a StyleService
 * process and the gateway in front of it. Prints the statuses histogram, every unexpected
 * answer (no answer by the deadline, a broken reply, INTERNAL/UNKNOWN from the service, a
 * 5xx), whether the server crashed, and its resident memory before and after.
 *
 *   node --import tsx system-tests/scripts/fuzz.ts [--inputs 10000] [--seed 20261123] [--concurrency 4]
 *
 * Exits non-zero when anything unexpected happened; rerun one input with --from N --inputs 1.
 */
import { parseArgs } from 'node:util';
import { StylizeImageRequest } from '@nst/proto';
import { buildCorpus, materialise, plans, type FuzzInput } from '../test/fuzz/cases';
import { runInputs, startFuzzTarget } from '../test/fuzz/target';

const { values: flags } = parseArgs({
  options: {
    inputs: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '20261123' },
    concurrency: { type: 'string', default: '4' },
    deadline: { type: 'string', default: '30000' },
    from: { type: 'string', default: '0' },
  },
});
const INPUTS = Number(flags.inputs);
const SEED = Number(flags.seed);
const FROM = Number(flags.from);
const UNEXPECTED = /HANG|NO_STATUS|MALFORMED_REPLY|FETCH_FAILED|CLIENT_TIMEOUT|INTERNAL\b|UNKNOWN|HTTP 5/;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const target = await startFuzzTarget();
const corpus = await buildCorpus('mosaic', '1');
const valid = (): FuzzInput[] =>
  corpus.images.map((image) => ({
    via: 'grpc-image',
    request: Buffer.from(StylizeImageRequest.encode({ header: { style: corpus.style, format: 2, quality: 0, maxDimension: 48, clientId: 'fuzz' }, image: image.bytes }).finish()),
  }));
await runInputs(target, [...valid(), ...valid()], { concurrency: 2, deadlineMs: 60_000 });
const baseline = target.server.rss();
console.log(`StyleService ${target.server.address}, gateway ${target.gateway.url}; RSS after warm-up ${mib(baseline)}`);

const started = performance.now();
const unexpected: string[] = [];
let peak = baseline;
const histogram = await runInputs(
  target,
  (function* () {
    let index = 0;
    for (const plan of plans(SEED, FROM + INPUTS)) {
      if (index++ >= FROM) yield materialise(corpus, plan);
    }
  })(),
  {
    concurrency: Number(flags.concurrency),
    deadlineMs: Number(flags.deadline),
    onAnswer: (answer, index, input) => {
      if (UNEXPECTED.test(answer)) unexpected.push(`input ${FROM + index} (${input.via}): ${answer}`);
      if (index % 500 === 0) {
        peak = Math.max(peak, target.server.rss());
        console.log(`  ${index} inputs, ${((performance.now() - started) / 1000).toFixed(0)} s, RSS ${mib(target.server.rss())}`);
      }
    },
  },
);
const seconds = (performance.now() - started) / 1000;
const answered = [...histogram.values()].reduce((a, b) => a + b, 0);
const after = await runInputs(target, valid(), { concurrency: 2, deadlineMs: 60_000 });
await new Promise((resolve) => setTimeout(resolve, 3000));
const end = target.server.rss();
const crashed = target.server.exited();

console.log(`\n== fuzz result (seed ${SEED}) ==`);
console.log(`${answered} of ${INPUTS} inputs answered in ${seconds.toFixed(0)} s (${(answered / seconds).toFixed(1)}/s)`);
for (const [key, count] of [...histogram].sort()) console.log(`  ${key.padEnd(40)} ${count}`);
console.log(`unexpected answers: ${unexpected.length}`);
for (const line of unexpected.slice(0, 20)) console.log(`  ${line}`);
console.log(`server crashed: ${crashed ? JSON.stringify(crashed) : 'no'}; lines logged at error level: ${target.server.errorLines.length}`);
for (const line of target.server.errorLines.slice(0, 5)) console.log(`  ${line.slice(0, 400)}`);
console.log(`serves valid input afterwards: ${[...after.keys()].join(', ')}`);
console.log(`StyleService RSS: ${mib(baseline)} warm, ${mib(peak)} peak sampled, ${mib(end)} after (${(((end - baseline) / baseline) * 100).toFixed(1)}%)`);
console.log(JSON.stringify({ seed: SEED, inputs: answered, seconds, unexpected: unexpected.length, crashed: Boolean(crashed), errorLines: target.server.errorLines.length, rssWarmMiB: baseline / 2 ** 20, rssPeakMiB: peak / 2 ** 20, rssAfterMiB: end / 2 ** 20, histogram: Object.fromEntries(histogram) }));
await target.close();
process.exit(unexpected.length === 0 && !crashed && target.server.errorLines.length === 0 && answered === INPUTS ? 0 : 1);
