/**
 * How ReleaseService learns of new versions: TrainerService's WatchVersions stream (runtime's
 * CatalogueWatch), compared with what ReleaseService itself has already acted on. That record
 * (`catalogue-seen.json` in NST_RELEASES_DIR: the newest version seen per style) is what lets a
 * version registered while ReleaseService was down start its canary when it comes back, and
 * keeps a version once rolled back from being canaried again on every restart. Each snapshot
 * and event runs the same idempotent catch-up over the whole catalogue, one at a time.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogueWatch, errorCode, fsyncDir, writeFileDurable, type Logger, type CatalogueStyleInfo } from '@nst/runtime';
import { z } from 'zod';
import type { ReleaseController, VersionSource } from '../rollout/release-controller';
import type { RolloutStore } from '../rollout/rollout-store';
import { rolloutOf, type RolloutState } from '../rollout/schema';

export const SEEN_FILE = 'catalogue-seen.json';

const SeenSchema = z.object({
  format: z.literal(1),
  /** Newest version ReleaseService has acted on, per style. */
  styles: z.record(z.string(), z.number().int().min(1)),
});
type Seen = z.infer<typeof SeenSchema>;

export interface ReleaseVersionWatchOptions {
  /** TrainerService (NST_TRAINER_ADDR), which owns the model registry. */
  trainerAddr: string;
  releasesDir: string;
  store: RolloutStore;
  autoRelease: boolean;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  heartbeatSeconds?: number;
  backoff?: { initialMs: number; maxMs: number };
}

const latestOf = (style: CatalogueStyleInfo): number | undefined =>
  style.versions.reduce<number | undefined>((max, v) => Math.max(max ?? 0, Number(v.version)), undefined);

export class ReleaseVersionWatch implements VersionSource {
  private readonly watch: CatalogueWatch;
  private controller: ReleaseController | undefined;
  private seen: Seen | undefined | null = null;
  private chain: Promise<void> = Promise.resolve();
  private latest: readonly CatalogueStyleInfo[] | undefined;

  constructor(private readonly options: ReleaseVersionWatchOptions) {
    this.watch = new CatalogueWatch({
      address: options.trainerAddr,
      ...(options.heartbeatSeconds ? { heartbeatSeconds: options.heartbeatSeconds } : {}),
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onUpdate: (styles) => {
        this.latest = styles;
        this.schedule();
      },
      onConnection: (connected, error) =>
        connected
          ? options.logger.info({ trainer: options.trainerAddr }, 'version catalogue stream from TrainerService is up')
          : options.logger.warn({ trainer: options.trainerAddr, err: error }, 'lost the version catalogue stream from TrainerService; reconnecting'),
    });
  }

  /** The catalogue's styles and version numbers (the controller's VersionSource); empty before TrainerService answered. */
  async listStyles(): Promise<{ id: string; versions: number[] }[]> {
    return (this.watch.styles() ?? []).map((style) => ({ id: style.id, versions: style.versions.map((v) => Number(v.version)).sort((a, b) => a - b) }));
  }

  /** Starts following the catalogue; changes go to `controller`. Resolves after the first catch-up, or after `waitMs`. */
  async start(controller: ReleaseController, waitMs: number): Promise<boolean> {
    this.controller = controller;
    this.watch.start();
    let timer: NodeJS.Timeout | undefined;
    const arrived = await Promise.race([
      this.watch.ready.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs))),
    ]);
    clearTimeout(timer);
    if (arrived) await this.idle();
    else this.options.logger.warn({ trainer: this.options.trainerAddr }, 'TrainerService has not sent the version catalogue yet; new versions are picked up once it does');
    return arrived;
  }

  /** Resolves when every catch-up scheduled so far has run. */
  async idle(): Promise<void> {
    for (let chain = this.chain; ; chain = this.chain) {
      await chain;
      if (chain === this.chain) return;
    }
  }

  async stop(): Promise<void> {
    this.watch.stop();
    await this.idle();
  }

  private schedule(): void {
    this.chain = this.chain.then(
      () => this.catchUp().catch((error: unknown) => this.options.logger.error({ err: error }, 'could not act on the version catalogue; the next update tries again')),
    );
  }

  /** Starts the canaries of versions newer than what was acted on, and records them as seen. */
  private async catchUp(): Promise<void> {
    const controller = this.controller;
    const styles = this.latest;
    if (!controller || !styles) return;
    if (this.seen === null) this.seen = await this.readSeen();
    const before = await this.options.store.read();
    // Styles that have no rollout yet get one, with their latest version as stable.
    await controller.init();
    const next: Seen = { format: 1, styles: { ...this.seen?.styles } };
    for (const style of styles) {
      const latest = latestOf(style);
      if (latest === undefined) continue;
      const seen = this.seen ? this.seen.styles[style.id] : baseline(before, style.id, latest);
      // A style first seen now: init() just made its latest version stable, nothing to canary.
      if (seen !== undefined && latest > seen) {
        if (!this.options.autoRelease) {
          this.options.logger.info({ style: style.id, version: latest }, 'version registered; auto-release is off (NST_AUTO_RELEASE), no canary started');
        }
        await controller.onVersionRegistered(style.id, latest, this.options.autoRelease);
      }
      next.styles[style.id] = Math.max(seen ?? 0, latest);
    }
    if (JSON.stringify(next) !== JSON.stringify(this.seen)) await this.writeSeen(next);
    this.seen = next;
  }

  private async readSeen(): Promise<Seen | undefined> {
    const file = join(this.options.releasesDir, SEEN_FILE);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = SeenSchema.safeParse((() => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    })());
    if (parsed.success) return parsed.data;
    // Rebuilt from the rollout state, as on the first start with this file.
    this.options.logger.warn({ file }, 'the record of versions already seen is unreadable; rebuilding it from the rollout state');
    return undefined;
  }

  private async writeSeen(seen: Seen): Promise<void> {
    await mkdir(this.options.releasesDir, { recursive: true });
    const file = join(this.options.releasesDir, SEEN_FILE);
    const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await writeFileDurable(temp, JSON.stringify(seen, null, 2) + '\n');
      await rename(temp, file);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await fsyncDir(this.options.releasesDir);
  }
}

/**
 * Without a record of what was seen (the first start, or one from before this record
 * existed): what the rollout state already names counts as seen. A rolled-back style counts as
 * seen up to its latest version, since the state no longer says which version was rolled back.
 */
function baseline(state: RolloutState, style: string, latest: number): number | undefined {
  const record = rolloutOf(state, style);
  if (!record) return undefined;
  if (record.phase === 'rolled_back') return latest;
  return Math.max(Number(record.stableVersion), Number(record.canaryVersion ?? 0));
}
