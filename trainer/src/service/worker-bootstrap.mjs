// Worker threads start from plain JavaScript: register tsx's loader in this thread, then load
// the TypeScript worker named in workerData.entry. (A .ts entry with execArgv ['--import',
// 'tsx'] fails in Node 20: the entry's format is decided before the hook is in place.)
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
