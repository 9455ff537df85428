/**
 * A child process for the feedback store's crash test: appends bursts of concurrent ratings
 * (each burst also retries one id already acknowledged, and re-rates one request of the burst
 * before with a new id `<tag>-<i>-again`) and prints `ack <id>` as each append resolves.
 * Runs until killed.
 *
 *   node --import tsx feedback-writer.fixture.ts <dir> <tag>
 */
import { JsonlFeedbackStore } from './jsonl-feedback-store';
import type { FeedbackRecord } from './feedback-store';

const [dir, tag] = process.argv.slice(2);
if (!dir || !tag) throw new Error('usage: <dir> <tag>');

const record = (i: number): FeedbackRecord => ({
  id: `${tag}-${i}`,
  requestId: `req-${tag}-${i}`,
  style: 'mosaic',
  version: String(1 + (i % 3)),
  rating: i % 4 === 0 ? 'bad' : 'good',
  reason: 'x'.repeat(i % 200),
  clientId: 'crash-test',
  consent: false,
  createdAt: new Date().toISOString(),
});

const store = await JsonlFeedbackStore.open(dir);
process.stdout.write('ready\n');
for (let burst = 0; ; burst++) {
  const ids = Array.from({ length: 32 }, (_, k) => burst * 32 + k);
  if (burst > 0) ids.push((burst - 1) * 32); // a client's retry of an acknowledged rating
  const writes = ids.map((i) => store.append(record(i)).then(() => process.stdout.write(`ack ${tag}-${i}\n`)));
  if (burst > 0) {
    // A person rating a request of the last burst again: same request id, a new feedback id.
    const again = { ...record((burst - 1) * 32 + 1), id: `${tag}-${(burst - 1) * 32 + 1}-again`, rating: 'bad' as const };
    writes.push(store.append(again).then(() => process.stdout.write(`ack ${again.id}\n`)));
  }
  await Promise.all(writes);
}
