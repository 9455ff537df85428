/**
 * Crash safety: a writer process appending bursts of ratings is SIGKILLed at random moments;
 * after each kill, every acknowledged rating is present exactly once, and each request has one
 * rating in force: an acknowledged re-rating replaces the earlier one.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnTsx } from '../testing/child';
import { FEEDBACK_FILE, JsonlFeedbackStore } from './jsonl-feedback-store';

const WRITER = fileURLToPath(new URL('./feedback-writer.fixture.ts', import.meta.url));
const ROUNDS = 4;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nst-feedback-crash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('feedback store crash safety', () => {
  it('keeps every acknowledged append, once, and one rating per request, across SIGKILLs during bursts', async () => {
    const acknowledged = new Set<string>();
    for (let round = 0; round < ROUNDS; round++) {
      const writer = spawnTsx(WRITER, [dir, `r${round}`]);
      await writer.waitForLine(/^ack /);
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 300));
      writer.process.kill('SIGKILL');
      expect((await writer.exited).signal).toBe('SIGKILL');
      const acks = writer.lines.filter((line) => line.startsWith('ack ')).map((line) => line.slice(4));
      expect(acks.length).toBeGreaterThan(0);
      for (const id of acks) acknowledged.add(id);

      const store = await JsonlFeedbackStore.open(dir);
      const inForce = await store.query();
      const ids = inForce.map((record) => record.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(inForce.map((record) => record.requestId)).size).toBe(inForce.length);
      const missing = [...acknowledged].filter((id) => !store.has(id));
      expect(missing).toEqual([]);
      // An acknowledged re-rating was written after its original (acknowledged a burst before), so it is the one in force.
      for (const id of [...acknowledged].filter((id) => id.endsWith('-again'))) expect(ids).toContain(id);
      // A client retrying everything it sent after the restart adds nothing.
      const records = await store.query();
      await Promise.all(records.map((record) => store.append(record)));
      expect((await store.query()).length).toBe(ids.length);
      await store.close();
      const lines = (await readFile(join(dir, FEEDBACK_FILE), 'utf8')).split('\n');
      expect(lines.pop()).toBe('');
      // Each id is one line; replaced ratings keep theirs (so a late retry is still recognised).
      const lineIds = lines.map((line) => (JSON.parse(line) as { id: string }).id);
      expect(new Set(lineIds).size).toBe(lineIds.length);
      expect(lineIds.length).toBe(ids.length + lineIds.filter((id) => id.endsWith('-again')).length);
    }
    expect([...acknowledged].filter((id) => id.endsWith('-again')).length).toBeGreaterThan(0);
  });
});
