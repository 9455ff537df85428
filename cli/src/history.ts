/**
 * What `nst stylize` remembers so `nst feedback <request-id>` needs nothing else: each served
 * request's style and version, one JSON line per request, in the user's state folder
 * ($XDG_STATE_HOME/nst, else ~/.local/state/nst). Also keeps this machine's client id, so
 * sticky canary routing sees one client across runs.
 */
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

export interface ServedRequest {
  requestId: string;
  style: string;
  version: string;
  input: string;
  output: string;
  at: string;
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env['XDG_STATE_HOME'] || path.join(homedir(), '.local', 'state'), 'nst');
}

export class RequestHistory {
  constructor(private readonly dir: string) {}

  private get file(): string {
    return path.join(this.dir, 'requests.jsonl');
  }

  async record(request: ServedRequest): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await appendFile(this.file, `${JSON.stringify(request)}\n`);
  }

  async find(requestId: string): Promise<ServedRequest | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    for (const line of text.split('\n').reverse()) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as ServedRequest;
        if (entry.requestId === requestId) return entry;
      } catch {
        // A torn last line (interrupted write) is skipped, not fatal.
      }
    }
    return undefined;
  }

  /** A stable random id for this user on this machine. */
  async clientId(): Promise<string> {
    const file = path.join(this.dir, 'client-id');
    try {
      const id = (await readFile(file, 'utf8')).trim();
      if (id) return id;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const id = `cli-${randomUUID()}`;
    await mkdir(this.dir, { recursive: true });
    await writeFile(file, `${id}\n`);
    return id;
  }
}
