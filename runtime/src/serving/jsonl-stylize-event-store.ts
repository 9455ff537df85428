/**
 * The embedded serving-event store: `<dir>/stylize-events.jsonl`, written by StyleService (one
 * process) and read by the release analysis in the mesh process, which refreshes by reading the
 * bytes appended since its last look (JsonlLog). Events are indexed per style version in memory.
 */
import { join } from 'node:path';
import { JsonlLog } from '../jsonl-log';
import {
  StylizeEventSchema,
  matchesEvent,
  stylizeStatsOf,
  type StylizeEvent,
  type StylizeEventFilter,
  type StylizeEventStore,
  type StylizeStats,
} from './stylize-event-store';

export const STYLIZE_EVENTS_FILE = 'stylize-events.jsonl';

export interface JsonlStylizeEventStoreOptions {
  /** Reads only: sees events another process appends; append is refused. */
  readOnly?: boolean;
}

const keyOf = (style: string, version: string): string => `${style}\0${version}`;

export class JsonlStylizeEventStore implements StylizeEventStore {
  private constructor(
    private readonly log: JsonlLog<StylizeEvent>,
    private readonly byVersion: Map<string, StylizeEvent[]>,
  ) {}

  get path(): string {
    return this.log.path;
  }

  static async open(dir: string, options: JsonlStylizeEventStoreOptions = {}): Promise<JsonlStylizeEventStore> {
    // The log reads the file while opening, before the store exists: index into a map it then adopts.
    const byVersion = new Map<string, StylizeEvent[]>();
    const log = await JsonlLog.open<StylizeEvent>(join(dir, STYLIZE_EVENTS_FILE), {
      readOnly: options.readOnly ?? false,
      parse: (value) => {
        const parsed = StylizeEventSchema.safeParse(value);
        return parsed.success ? parsed.data : undefined;
      },
      onEntry: (event) => indexEvent(byVersion, event),
      onReset: () => byVersion.clear(),
    });
    return new JsonlStylizeEventStore(log, byVersion);
  }

  async append(event: StylizeEvent): Promise<void> {
    const parsed = StylizeEventSchema.parse(event);
    await this.log.append(parsed);
    indexEvent(this.byVersion, parsed);
  }

  async stats(filter: StylizeEventFilter): Promise<StylizeStats> {
    await this.log.refresh();
    const events = this.byVersion.get(keyOf(filter.style, filter.version)) ?? [];
    return stylizeStatsOf(events.filter((event) => matchesEvent(event, filter)));
  }

  /**
   * Retention: rewrites the file without events that started before `before` (the analysis
   * only looks at the current rollout step); returns how many were removed.
   */
  async prune(before: Date): Promise<number> {
    const cutoff = before.getTime();
    const removed = await this.log.retain((event) => Date.parse(event.startedAt) >= cutoff);
    const ids = new Set(removed.map((event) => event.id));
    for (const [key, events] of this.byVersion) {
      const kept = events.filter((event) => !ids.has(event.id));
      if (kept.length === 0) this.byVersion.delete(key);
      else if (kept.length !== events.length) this.byVersion.set(key, kept);
    }
    return removed.length;
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

function indexEvent(byVersion: Map<string, StylizeEvent[]>, event: StylizeEvent): void {
  const key = keyOf(event.style, event.version);
  const events = byVersion.get(key);
  if (events) events.push(event);
  else byVersion.set(key, [event]);
}
