/**
 * A child process for the feedback store's crash test: appends bursts of concurrent ratings
 * (each burst also retries one id already acknowledged) and prints `ack <id>` as each append
 * resolves. Runs until killed.
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
  await Promise.all(ids.map((i) => store.append(record(i)).then(() => process.stdout.write(`ack ${tag}-${i}\n`))));
}
