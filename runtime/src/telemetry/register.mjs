/**
 * The telemetry entry point, loaded before the service's own code:
 *
 *   node --import tsx --import @nst/runtime/telemetry/register <entry>
 *
 * Plain JavaScript on purpose: worker threads (ONNX Runtime sessions, training) inherit these
 * --import flags, and a worker neither needs its own SDK nor always has the TypeScript loader
 * ready at this point. The main thread loads the real set-up (register-main.ts).
 */
import { isMainThread } from 'node:worker_threads';

if (isMainThread) await import('./register-main.ts');
