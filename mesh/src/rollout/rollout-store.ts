/**
 * rollouts.json: every style's rollout record in one file, replaced atomically (a temp file
 * written and fsync'd, renamed over the old one, the folder fsync'd), so readers in other
 * processes see either the old state or the new, never half of one. ReleaseService is the one
 * writer; StyleService's router reads it and re-parses only when the file changed (inode, size
 * or mtime), looking at most every `checkIntervalMs`, so a change reaches new calls within
 * about a second without a stat on every call.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode, replaceFileDurable } from '@nst/runtime';
import { RolloutStateSchema, emptyRolloutState, rolloutOf, type RolloutRecord, type RolloutState } from './schema';

export const ROLLOUTS_FILE = 'rollouts.json';

export interface RolloutStoreOptions {
  /** Least time between two looks at the file; default 250 ms. 0 looks on every read. */
  checkIntervalMs?: number;
}

export class RolloutStateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RolloutStateError';
  }
}

export class RolloutStore {
  readonly path: string;
  private cached: RolloutState = emptyRolloutState();
  /** ino:size:mtime of the file the cache came from; '' when it did not exist. */
  private signature: string | undefined;
  private checkedAt = -Infinity;
  private checking: Promise<RolloutState> | undefined;
  private readonly checkIntervalMs: number;
  private readonly listeners = new Set<(state: RolloutState) => void>();

  constructor(
    readonly dir: string,
    options: RolloutStoreOptions = {},
  ) {
    this.path = join(dir, ROLLOUTS_FILE);
    this.checkIntervalMs = options.checkIntervalMs ?? 250;
  }

  /**
   * The current state (an empty one when the file does not exist yet). Throws RolloutStateError
   * when the file cannot be parsed; a reader that already had a good state keeps serving it
   * (see `readOrLast`).
   */
  async read(): Promise<RolloutState> {
    if (performance.now() - this.checkedAt < this.checkIntervalMs && this.signature !== undefined) return this.cached;
    this.checking ??= this.load().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }

  /**
   * Like `read`, but a file that cannot be parsed (a hand edit gone wrong) is reported to
   * `onError` and the last good state is kept serving, so routing never fails on it.
   */
  async readOrLast(onError: (error: unknown) => void): Promise<RolloutState> {
    try {
      return await this.read();
    } catch (error) {
      onError(error);
      return this.cached;
    }
  }

  /** The state as last read or written (read() first for the file's current content). */
  latest(): RolloutState {
    return this.cached;
  }

  /**
   * Calls `listener` with the new state after each write by this store (ReleaseService is the
   * one writer, so its own writes are every change). Returns the unsubscribe function.
   */
  onChange(listener: (state: RolloutState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The rollout of one style, if it has one. */
  async get(style: string): Promise<RolloutRecord | undefined> {
    return rolloutOf(await this.read(), style);
  }

  /** Replaces the whole state atomically. For the one writer (ReleaseService). */
  async write(state: RolloutState): Promise<void> {
    const checked = RolloutStateSchema.parse(state);
    await mkdir(this.dir, { recursive: true });
    await replaceFileDurable(this.path, JSON.stringify(checked, null, 2) + '\n');
    this.cached = checked;
    this.signature = await this.signatureNow();
    this.checkedAt = performance.now();
    for (const listener of this.listeners) listener(checked);
  }

  private async signatureNow(): Promise<string> {
    try {
      const info = await stat(this.path);
      return `${info.ino}:${info.size}:${info.mtimeMs}`;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return '';
      throw error;
    }
  }

  private async load(): Promise<RolloutState> {
    const signature = await this.signatureNow();
    this.checkedAt = performance.now();
    if (signature === this.signature) return this.cached;
    if (signature === '') {
      this.cached = emptyRolloutState();
      this.signature = '';
      return this.cached;
    }
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      // Replaced between stat and read: look again next time.
      if (errorCode(error) === 'ENOENT') return this.cached;
      throw error;
    }
    let parsed;
    try {
      parsed = RolloutStateSchema.safeParse(JSON.parse(text));
    } catch (error) {
      throw new RolloutStateError(`${this.path} is not valid JSON; fix or remove it (ReleaseService rewrites it)`, { cause: error });
    }
    if (!parsed.success) {
      throw new RolloutStateError(
        `${this.path} does not hold valid rollout state: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    this.cached = parsed.data;
    this.signature = signature;
    return this.cached;
  }
}
