/**
 * Following a registry folder that other processes write: polls for styles and versions and
 * announces each once. What exists when the watch starts (by the time `ready` resolves) is not
 * announced.
 */
import type { StyleRecord, VersionRecord } from './records';

export interface WatchOptions {
  /** How often the folders are polled for versions other processes registered; default 1000 ms. */
  intervalMs?: number;
  /** Called when a poll fails (the watch keeps going). */
  onError?: (error: unknown) => void;
}

export interface RegistryWatch {
  /** Resolves once the starting state is known; rejects if it could not be read. */
  ready: Promise<void>;
  stop(): void;
}

/** What the watch reads and whom it tells. */
export interface WatchedRegistry {
  listStyles(): Promise<StyleRecord[]>;
  listVersions(style: string): Promise<VersionRecord[]>;
  /** Versions already announced, as `style/n` (those this process registered are in it). */
  announced: Set<string>;
  styleFound(style: StyleRecord): void;
  versionFound(version: VersionRecord): void;
}

export function watchRegistry(registry: WatchedRegistry, options: WatchOptions = {}): RegistryWatch {
  const intervalMs = options.intervalMs ?? 1000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const knownStyles = new Set<string>();
  const poll = async (announce: boolean) => {
    for (const style of await registry.listStyles()) {
      if (!knownStyles.has(style.id)) {
        knownStyles.add(style.id);
        if (announce) registry.styleFound(style);
      }
      for (const version of await registry.listVersions(style.id)) {
        const key = `${style.id}/${version.version}`;
        if (registry.announced.has(key)) continue;
        registry.announced.add(key);
        if (announce) registry.versionFound(version);
      }
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      poll(true)
        .catch((error: unknown) => options.onError?.(error))
        .finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  const ready = poll(false).finally(schedule);
  return {
    ready,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
