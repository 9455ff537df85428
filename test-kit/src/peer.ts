/**
 * The PyTorch peer of the speed benchmarks: the standard fast-neural-style network
 * (../shared/bench/peer_torch.py, Johnson 2016) on the same machine, timed once as the DESIGN
 * command states, or kept alive in one Python process and timed on request so its timings can
 * sit between ours in the same round and see the same load (the machine is shared).
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { REPO_ROOT } from './processes';

const run = promisify(execFile);
/** The shared folder is the repository's sibling. */
export const PEER_SCRIPT = path.resolve(REPO_ROOT, '..', 'shared', 'bench', 'peer_torch.py');
/**
 * Debian's python3-torch lives under the system interpreter (the script's shebang); a pyenv or
 * venv python3 earlier on PATH has no torch. NST_PEER_PYTHON overrides.
 */
export const PEER_PYTHON = process.env['NST_PEER_PYTHON'] || (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

/** Times the PyTorch peer; it does its own warm-up and prints its median. */
export async function timePeer(size: number, runs: number, threads: number): Promise<{ medianMs: number; version: string }> {
  if (!existsSync(PEER_SCRIPT)) throw new Error(`peer script not found at ${PEER_SCRIPT}`);
  const { stdout } = await run(PEER_PYTHON, [PEER_SCRIPT, String(size), String(runs), String(threads)], { timeout: 900_000 }).catch(
    (error: { stderr?: string; killed?: boolean; message: string }) => {
      const why = error.killed ? 'timed out (is the machine saturated?)' : (error.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
      throw new Error(`peer ${PEER_SCRIPT} failed: ${why || error.message}`);
    },
  );
  const match = /torch (\S+) size=\d+ median_ms=(\d+)/.exec(stdout);
  if (!match) throw new Error(`unexpected peer output: ${stdout}`);
  return { version: match[1] ?? '?', medianMs: Number(match[2]) };
}

/**
 * The peer network kept alive in one Python process, timed on request: it imports the shared
 * script's own net() with the same settings (threads, inference mode, random input), so every
 * peer timing can sit between ours in the same round and see the same load. `clock` is
 * Python's perf_counter (wall time) or process_time (the CPU time of the peer's own process,
 * which the shared machine's load does not inflate as it does wall time).
 */
const persistentPeer = (clock: 'perf_counter' | 'process_time'): string => `
import sys, time, torch
sys.path.insert(0, sys.argv[1]); import peer_torch
size, threads = int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
m = peer_torch.net(); x = torch.rand(1, 3, size, size)
with torch.inference_mode():
    m(x)
    print("ready", torch.__version__, flush=True)
    for line in sys.stdin:
        t = time.${clock}(); m(x); print(f"{(time.${clock}() - t) * 1000:.1f}", flush=True)
`;

export class PersistentPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  /** Each `time()` is wall milliseconds, or with `cpu` the CPU milliseconds of the peer's process. */
  constructor(size: number, threads: number, options: { cpu?: boolean } = {}) {
    const script = persistentPeer(options.cpu ? 'process_time' : 'perf_counter');
    this.child = spawn(PEER_PYTHON, ['-c', script, path.dirname(PEER_SCRIPT), String(size), String(threads)]);
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async nextLine(): Promise<string> {
    const next = await this.lines.next();
    if (next.done) throw new Error(`peer process ended (exit ${this.child.exitCode})`);
    return next.value;
  }

  /** Waits for the model to be built and warmed up; returns the torch version. */
  async ready(): Promise<string> {
    const line = await this.nextLine();
    if (!line.startsWith('ready ')) throw new Error(`unexpected peer output: ${line}`);
    return line.slice('ready '.length);
  }

  async time(): Promise<number> {
    this.child.stdin.write('run\n');
    return Number(await this.nextLine());
  }

  stop(): void {
    this.child.stdin.end();
  }
}

