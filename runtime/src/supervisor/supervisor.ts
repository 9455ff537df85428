/**
 * Supervision of the child processes `npm start` runs (one per service).
 *
 * - Start: each service is spawned in order, and the next waits until it is ready. One that
 *   exits or fails its readiness check during start-up is not restarted (a bad setting or a
 *   taken port does not fix itself): the others are stopped and the outcome says why.
 * - Crash: a service that exits on its own after it was ready is restarted after a delay that
 *   doubles with each crash (0.5 s, 1 s, 2 s... capped), with one line per restart. Crashes
 *   older than the window are forgotten; one more crash than `maxRestarts` within the window
 *   gives up: the others are stopped promptly (SIGTERM, SIGKILL after a short grace).
 * - Stop (Ctrl-C): pending restarts are cancelled and the services are stopped in reverse
 *   order, each sent SIGTERM and, past its grace, SIGKILL; a forced stop kills all at once.
 */
import type { ChildProcess } from 'node:child_process';

/** How a child process ended: its status, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** `signal SIGKILL` or `status 1`. */
export function describeExit(exit: ChildExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return exit.code === null ? 'no status' : `status ${exit.code}`;
}

/** `0.5 s`, `2 s`, `1.25 s`. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))} s`;
}

export interface SupervisedService {
  /** Short name (`style`). */
  key: string;
  /** What a person calls it (`StyleService`). */
  title: string;
  /** Starts a fresh process of the service. */
  spawn(): ChildProcess;
  /** Resolves once the process serves; rejects when it does not. Awaited at start-up only. */
  ready?(child: ChildProcess): Promise<void>;
}

export interface SupervisorOptions {
  /** Restarts allowed within `windowMs`; the crash after them gives up. Default 5. */
  maxRestarts?: number;
  /** The window crashes are counted in; default 60 s. */
  windowMs?: number;
  /** Delay before the first restart, doubled for each crash within the window; default 500 ms. */
  backoffMs?: number;
  /** Longest delay; default 8 s. */
  maxBackoffMs?: number;
  /** Time each service gets to stop after SIGTERM on an orderly stop, before SIGKILL; default 10 s. */
  stopGraceMs?: number;
  /** The same when giving up (after a crash loop or a failed start); default 1.5 s. */
  giveUpGraceMs?: number;
  /** Writes one line for the person at the terminal (each restart); default stderr. */
  report?(line: string): void;
}

/** A service that did not stop by itself after SIGTERM, or stopped with a failure. */
export interface UncleanStop {
  service: SupervisedService;
  exit: ChildExit;
}

export type SupervisorOutcome =
  | { reason: 'stopped'; unclean: UncleanStop[] }
  | { reason: 'gave-up'; service: SupervisedService; crashes: number; windowMs: number; last: ChildExit; unclean: UncleanStop[] }
  | { reason: 'start-failed'; service: SupervisedService; exit?: ChildExit; error?: unknown; unclean: UncleanStop[] };

interface Slot {
  service: SupervisedService;
  child?: ChildProcess;
  /** Resolves with the current child's exit. */
  exited?: Promise<ChildExit>;
  /** How often it was spawned. */
  spawns: number;
  /** Served once (so an exit is a crash, not a failed start). */
  wasReady: boolean;
  /** When recent crashes happened (ms), oldest first. */
  crashes: number[];
  restartTimer?: NodeJS.Timeout;
}

function exitOf(child: ChildProcess): ChildExit | undefined {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode as NodeJS.Signals | null };
  return undefined;
}

/** Resolves when `child` has exited (at once if it already has); a child that never started counts as exited. */
function whenExited(child: ChildProcess): Promise<ChildExit> {
  const done = exitOf(child);
  if (done) return Promise.resolve(done);
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A spawn failure (ENOENT...) emits 'error' and, for a process that never ran, no 'exit'.
    child.once('error', () => {
      if (child.pid === undefined) resolve({ code: null, signal: null });
    });
  });
}

function sleep(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

export class Supervisor {
  private readonly slots: Slot[];
  private readonly options: Required<SupervisorOptions>;
  private stopping: Promise<SupervisorOutcome> | undefined;
  private forced = false;
  private resolveDone!: (outcome: SupervisorOutcome) => void;
  /** Resolves once every service has stopped, saying why. */
  readonly done: Promise<SupervisorOutcome>;

  constructor(services: SupervisedService[], options: SupervisorOptions = {}) {
    this.slots = services.map((service) => ({ service, spawns: 0, wasReady: false, crashes: [] }));
    this.options = {
      maxRestarts: options.maxRestarts ?? 5,
      windowMs: options.windowMs ?? 60_000,
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 8000,
      stopGraceMs: options.stopGraceMs ?? 10_000,
      giveUpGraceMs: options.giveUpGraceMs ?? 1500,
      report: options.report ?? ((line) => void process.stderr.write(`${line}\n`)),
    };
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** The running process of a service (undefined while it waits to restart). */
  child(key: string): ChildProcess | undefined {
    return this.slots.find((slot) => slot.service.key === key)?.child;
  }

  /**
   * Starts every service in order, each once the one before is ready. Resolves true when all
   * are; false when one failed to start (the others are then stopped, and `done` says why).
   */
  async start(): Promise<boolean> {
    for (const slot of this.slots) {
      if (this.stopping) return false;
      const exited = this.launch(slot);
      const child = slot.child as ChildProcess;
      let failure: { exit?: ChildExit; error?: unknown } | undefined;
      try {
        const first = await Promise.race([
          (slot.service.ready?.(child) ?? Promise.resolve()).then(() => undefined),
          exited.then((exit) => ({ exit })),
        ]);
        failure = first;
      } catch (error) {
        failure = { error };
      }
      if (this.stopping) return false;
      if (failure) {
        void this.stopAll(this.options.giveUpGraceMs, (unclean) => ({ reason: 'start-failed', service: slot.service, ...failure, unclean }));
        return false;
      }
      slot.wasReady = true;
    }
    return true;
  }

  /**
   * Stops every service in reverse order (SIGTERM, then SIGKILL past the grace), cancelling
   * pending restarts. Called again while stopping, it kills every service still running at once.
   */
  stop(options: { force?: boolean } = {}): Promise<SupervisorOutcome> {
    if (this.stopping && options.force) this.killAll();
    return this.stopAll(this.options.stopGraceMs, (unclean) => ({ reason: 'stopped', unclean }));
  }

  private launch(slot: Slot): Promise<ChildExit> {
    const child = slot.service.spawn();
    slot.child = child;
    slot.spawns++;
    const exited = whenExited(child);
    slot.exited = exited;
    void exited.then((exit) => this.onExit(slot, child, exit));
    return exited;
  }

  private onExit(slot: Slot, child: ChildProcess, exit: ChildExit): void {
    if (slot.child !== child) return;
    // Stopping, or still starting (start() reports that), is no crash.
    if (this.stopping || !slot.wasReady) return;
    slot.child = undefined;
    const now = Date.now();
    slot.crashes = slot.crashes.filter((at) => now - at < this.options.windowMs);
    slot.crashes.push(now);
    const attempt = slot.crashes.length;
    if (attempt > this.options.maxRestarts) {
      void this.stopAll(this.options.giveUpGraceMs, (unclean) => ({
        reason: 'gave-up',
        service: slot.service,
        crashes: attempt,
        windowMs: this.options.windowMs,
        last: exit,
        unclean,
      }));
      return;
    }
    const delay = Math.min(this.options.backoffMs * 2 ** (attempt - 1), this.options.maxBackoffMs);
    this.options.report(
      `${slot.service.title} exited (${describeExit(exit)}); restarting in ${formatSeconds(delay)} (attempt ${attempt} of ${this.options.maxRestarts})`,
    );
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      if (!this.stopping) this.launch(slot);
    }, delay);
  }

  private stopAll(graceMs: number, outcome: (unclean: UncleanStop[]) => SupervisorOutcome): Promise<SupervisorOutcome> {
    this.stopping ??= (async () => {
      for (const slot of this.slots) clearTimeout(slot.restartTimer);
      const unclean: UncleanStop[] = [];
      for (const slot of [...this.slots].reverse()) {
        const child = slot.child;
        // Waiting to restart, or already gone by itself (the one whose failure stops the rest).
        if (!child || !slot.exited || exitOf(child)) continue;
        const exit = await this.terminate(child, slot.exited, graceMs);
        if (exit.code !== 0 || exit.signal) unclean.push({ service: slot.service, exit });
      }
      const result = outcome(unclean);
      this.resolveDone(result);
      return result;
    })();
    return this.stopping;
  }

  private async terminate(child: ChildProcess, exited: Promise<ChildExit>, graceMs: number): Promise<ChildExit> {
    child.kill(this.forced ? 'SIGKILL' : 'SIGTERM');
    if ((await Promise.race([exited, sleep(graceMs)])) !== 'timeout') return exited;
    child.kill('SIGKILL');
    // SIGKILL cannot be refused; the wait only guards against a process the kernel holds (D state).
    const killed = await Promise.race([exited, sleep(2000)]);
    return killed === 'timeout' ? { code: null, signal: 'SIGKILL' } : killed;
  }

  private killAll(): void {
    this.forced = true;
    for (const slot of this.slots) if (slot.child && !exitOf(slot.child)) slot.child.kill('SIGKILL');
  }
}
