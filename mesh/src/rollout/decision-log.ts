/**
 * decisions.jsonl: every release decision (analysis steps, promotions, rollbacks, manual
 * changes), appended and fsync'd before the state change it explains is written, so the
 * history never misses a change that happened. Kept in memory for ListDecisions.
 */
import { join } from 'node:path';
import { JsonlLog } from '@nst/runtime';
import { DecisionRecordSchema, type DecisionRecord } from './schema';

export const DECISIONS_FILE = 'decisions.jsonl';

export class DecisionLog {
  private constructor(
    private readonly log: JsonlLog<DecisionRecord>,
    private readonly decisions: DecisionRecord[],
  ) {}

  static async open(dir: string, options: { readOnly?: boolean } = {}): Promise<DecisionLog> {
    const decisions: DecisionRecord[] = [];
    const log = await JsonlLog.open<DecisionRecord>(join(dir, DECISIONS_FILE), {
      readOnly: options.readOnly ?? false,
      parse: (value) => {
        const parsed = DecisionRecordSchema.safeParse(value);
        return parsed.success ? parsed.data : undefined;
      },
      onEntry: (decision) => decisions.push(decision),
      onReset: () => (decisions.length = 0),
    });
    return new DecisionLog(log, decisions);
  }

  get path(): string {
    return this.log.path;
  }

  /** Records a decision durably. */
  async append(decision: DecisionRecord): Promise<void> {
    const checked = DecisionRecordSchema.parse(decision);
    await this.log.append(checked);
    this.decisions.push(checked);
  }

  /** Decisions newest first, optionally of one style, at most `limit`. */
  async list(filter: { style?: string; limit?: number } = {}): Promise<DecisionRecord[]> {
    await this.log.refresh();
    const limit = filter.limit ?? 100;
    const out: DecisionRecord[] = [];
    for (let i = this.decisions.length - 1; i >= 0 && out.length < limit; i--) {
      const decision = this.decisions[i] as DecisionRecord;
      if (filter.style === undefined || decision.style === filter.style) out.push(decision);
    }
    return out;
  }

  /** One decision by id. */
  find(id: string): DecisionRecord | undefined {
    for (let i = this.decisions.length - 1; i >= 0; i--) if (this.decisions[i]?.id === id) return this.decisions[i];
    return undefined;
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
