/**
 * Which version served each recent stylize request, so SubmitFeedback counts a rating against
 * the version that actually served it (the canary analysis depends on that) even when the
 * photo itself is no longer held. A bounded map in insertion order: the oldest entries go first
 * once it is full or they are older than `holdMs`.
 */
export interface ServedRequest {
  style: string;
  version: string;
  at: number;
}

export class ServedRequests {
  private readonly entries = new Map<string, ServedRequest>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly holdMs = 24 * 60 * 60 * 1000,
  ) {}

  record(requestId: string, style: string, version: string, now = Date.now()): void {
    this.entries.set(requestId, { style, version, at: now });
    this.trim(now);
  }

  get(requestId: string, now = Date.now()): ServedRequest | undefined {
    const entry = this.entries.get(requestId);
    return entry && now - entry.at <= this.holdMs ? entry : undefined;
  }

  private trim(now: number): void {
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && now - entry.at <= this.holdMs) break;
      this.entries.delete(id);
    }
  }
}
