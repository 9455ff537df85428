/**
 * Measures what durability costs on this machine: feedback appends per second at several
 * concurrencies (each append fsync'd, concurrent ones sharing a sync), and the time to register
 * a model version of a given size.
 *
 *   node --import tsx runtime/scripts/durability-bench.ts [--dir /tmp/x] [--model-mib 7]
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { JsonlFeedbackStore } from '../src/feedback/jsonl-feedback-store';
import { ModelRegistry } from '../src/registry/model-registry';
import { newStyle, newVersion } from '../src/registry/test-helpers';

const { values } = parseArgs({ options: { dir: { type: 'string' }, 'model-mib': { type: 'string', default: '7' } } });
const base = values.dir ?? (await mkdtemp(join(tmpdir(), 'nst-bench-')));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

try {
  const store = await JsonlFeedbackStore.open(join(base, 'feedback'));
  let n = 0;
  const record = () => ({
    id: `bench-${n++}`,
    requestId: 'req',
    style: 'mosaic',
    version: '1',
    rating: 'good' as const,
    clientId: 'bench',
    consent: false,
    createdAt: new Date().toISOString(),
  });
  console.log('| concurrency | appends | seconds | appends/s |');
  console.log('| --- | --- | --- | --- |');
  for (const concurrency of [1, 8, 64, 256]) {
    const total = Math.max(200, concurrency * 20);
    const start = performance.now();
    let issued = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < total) {
          issued++;
          await store.append(record());
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    console.log(`| ${concurrency} | ${total} | ${seconds.toFixed(2)} | ${Math.round(total / seconds)} |`);
  }
  await store.close();

  const mib = Number(values['model-mib']);
  const registry = await ModelRegistry.open(join(base, 'registry'));
  await registry.createStyle(newStyle('bench'));
  const model = randomBytes(mib * 1024 * 1024);
  const weights = randomBytes(mib * 1024 * 1024);
  const times: number[] = [];
  for (let i = 0; i < 8; i++) {
    model[0] = i;
    const start = performance.now();
    await registry.registerVersion('bench', newVersion(model, weights));
    times.push(performance.now() - start);
  }
  const reader = await ModelRegistry.open(join(base, 'registry'));
  let start = performance.now();
  await reader.listVersions('bench');
  const firstList = performance.now() - start;
  start = performance.now();
  await reader.listVersions('bench');
  const cachedList = performance.now() - start;
  start = performance.now();
  await reader.readModel('bench', 1);
  const read = performance.now() - start;
  console.log(
    `\nregisterVersion (${mib} MiB model + ${mib} MiB weights, fsync'd): median ${median(times).toFixed(0)} ms over ${times.length}; ` +
      `listVersions of 8 cold (hashing all) ${firstList.toFixed(0)} ms, cached ${cachedList.toFixed(1)} ms; readModel (verified) ${read.toFixed(0)} ms`,
  );
} finally {
  if (!values.dir) await rm(base, { recursive: true, force: true });
}
