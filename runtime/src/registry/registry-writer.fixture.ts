/**
 * A child process for the registry's crash tests: registers versions of one style with large
 * payloads and prints `registered <n> <model sha256>` after each registration resolves (stdout
 * to a pipe is synchronous on Linux, so a printed line was sent before any later kill).
 *
 *   node --import tsx registry-writer.fixture.ts <root> <style> <payloadBytes> <count|forever> <tag> [wait]
 *
 * With `wait`, it prints `ready` and starts only when a line arrives on stdin, so several
 * writers can be started together.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { RegistryConflictError } from './errors';
import { ModelRegistry } from './model-registry';
import { newStyle, newVersion } from './test-helpers';
import { sha256 } from '../durable-fs';

const [root, styleArg, payloadArg, countArg, tag, wait] = process.argv.slice(2);
if (!root || !styleArg || !payloadArg || !countArg || !tag) throw new Error('usage: <root> <style> <payloadBytes> <count|forever> <tag> [wait]');
const style: string = styleArg;
const payloadBytes = Number(payloadArg);
const count = countArg === 'forever' ? Infinity : Number(countArg);

const registry = await ModelRegistry.open(root);
try {
  await registry.createStyle(newStyle(style));
} catch (error) {
  if (!(error instanceof RegistryConflictError)) throw error;
}
const base = randomBytes(payloadBytes);
process.stdout.write('ready\n');
if (wait === 'wait') await once(process.stdin, 'data');
process.stdin.destroy();
let next = 0;
// Three registrations in flight: while one writes its files, the next hashes its payload, so
// the writer is inside a write most of the time and a kill tends to land there.
async function registerLoop(): Promise<void> {
  while (next < count) {
    const i = next++;
    // Each version differs in its first bytes, so a mixed-up file would fail its hash.
    const model = Buffer.from(base);
    model.write(`${tag}:${i}:model`, 0);
    const weights = Buffer.from(base);
    weights.write(`${tag}:${i}:weights`, 0);
    const record = await registry.registerVersion(style, newVersion(model, weights, { jobId: `${tag}-${i}` }));
    process.stdout.write(`registered ${record.version} ${sha256(model)}\n`);
  }
}
await Promise.all([registerLoop(), registerLoop(), registerLoop()]);
