/**
 * The supervisor against real child processes (`node -e`): a crashed service is restarted after
 * doubling delays with one line each, a crash loop gives up and stops the others promptly
 * (SIGKILL past the grace), and an orderly stop or a failed start ends everything at once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Supervisor, describeExit, formatSeconds, type SupervisedService } from './supervisor';

/** A service whose process runs `code` under node; records when each process started. */
function service(key: string, code: string, ready?: SupervisedService['ready']): SupervisedService & { starts: number[]; children: ChildProcess[] } {
  const starts: number[] = [];
  const children: ChildProcess[] = [];
  return {
    key,
    title: `${key} service`,
    starts,
    children,
    spawn: () => {
      starts.push(Date.now());
      const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
      children.push(child);
      return child;
    },
    ...(ready ? { ready } : {}),
  };
}

/** Stays up until SIGTERM, then exits 0; says "up" once its handler is installed. */
const WELL_BEHAVED = "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000); process.stdout.write('up');";
/** Ignores SIGTERM: only SIGKILL ends it. */
const STUBBORN = "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); process.stdout.write('up');";
/** Readiness for the two above: the child has installed its SIGTERM handler (a loaded machine may take a while). */
const settled = (child: ChildProcess) => new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
/** Up long enough to count as started, then crashes with status 3. */
const CRASHING = 'setTimeout(() => process.exit(3), 40);';

describe('Supervisor', () => {
  it('restarts a crashed child after 0.05, 0.1 and 0.2 s with one line each, then gives up and stops the others within the grace', async () => {
    const lines: string[] = [];
    const crashing = service('crashing', CRASHING);
    const stubborn = service('stubborn', STUBBORN, settled);
    // The stubborn one starts first, so it is stopped last, after the crashing one gave up.
    const supervisor = new Supervisor([stubborn, crashing], {
      maxRestarts: 3,
      windowMs: 10_000,
      backoffMs: 50,
      maxBackoffMs: 1000,
      giveUpGraceMs: 300,
      report: (line) => lines.push(line),
    });
    expect(await supervisor.start()).toBe(true);
    const outcome = await supervisor.done;
    const gaveUpAt = Date.now();

    expect(lines).toEqual([
      'crashing service exited (status 3); restarting in 0.05 s (attempt 1 of 3)',
      'crashing service exited (status 3); restarting in 0.1 s (attempt 2 of 3)',
      'crashing service exited (status 3); restarting in 0.2 s (attempt 3 of 3)',
    ]);
    expect(crashing.starts).toHaveLength(4);
    // Each restart waited its delay on top of the 40 ms the process lived.
    const gaps = crashing.starts.slice(1).map((at, i) => at - (crashing.starts[i] as number));
    for (const [i, delay] of [50, 100, 200].entries()) expect(gaps[i]).toBeGreaterThanOrEqual(delay + 30);
    expect(outcome).toMatchObject({ reason: 'gave-up', crashes: 4, windowMs: 10_000, last: { code: 3, signal: null } });
    if (outcome.reason !== 'gave-up') throw new Error('unreachable');
    expect(outcome.service.key).toBe('crashing');
    // The stubborn service ignored SIGTERM and was killed after the 300 ms grace.
    expect(outcome.unclean.map((u) => [u.service.key, u.exit.signal])).toEqual([['stubborn', 'SIGKILL']]);
    expect(stubborn.children[0]?.signalCode).toBe('SIGKILL');
    const lastCrash = crashing.starts.at(-1) as number;
    expect(gaveUpAt - lastCrash).toBeLessThan(3000);
  });

  it('forgets crashes older than the window, so a service that crashes now and then is always restarted at the first delay', async () => {
    const lines: string[] = [];
    // Up 250 ms each time: longer than the 150 ms window.
    const flaky = service('flaky', "process.on('SIGTERM', () => process.exit(0)); setTimeout(() => process.exit(1), 250);");
    const supervisor = new Supervisor([flaky], { maxRestarts: 1, windowMs: 150, backoffMs: 20, report: (line) => lines.push(line) });
    expect(await supervisor.start()).toBe(true);
    while (flaky.starts.length < 4) await new Promise((resolve) => setTimeout(resolve, 50));
    // (The stop may catch a process before it installed its SIGTERM handler: how it ended is not the point.)
    expect((await supervisor.stop()).reason).toBe('stopped');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toBe('flaky service exited (status 1); restarting in 0.02 s (attempt 1 of 1)');
  });

  it('on stop, sends SIGTERM in reverse start order, cancels a pending restart and prints no restart line', async () => {
    const lines: string[] = [];
    const order: string[] = [];
    const first = service('first', WELL_BEHAVED, settled);
    const second = service('second', WELL_BEHAVED, settled);
    const crashing = service('crashing', CRASHING);
    const supervisor = new Supervisor([first, second, crashing], { backoffMs: 5000, report: (line) => lines.push(line) });
    expect(await supervisor.start()).toBe(true);
    for (const s of [first, second]) s.children[0]?.once('exit', () => order.push(s.key));
    // Wait for the crash, whose restart is 5 s away.
    while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const stoppedAt = Date.now();
    const outcome = await supervisor.stop();
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    expect(outcome).toEqual({ reason: 'stopped', unclean: [] });
    expect(order).toEqual(['second', 'first']);
    expect(lines).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(crashing.starts).toHaveLength(1);
  });

  it('a forced stop kills a service that ignores SIGTERM at once', async () => {
    const stubborn = service('stubborn', STUBBORN, settled);
    const supervisor = new Supervisor([stubborn], { stopGraceMs: 60_000, report: () => undefined });
    expect(await supervisor.start()).toBe(true);
    const stopping = supervisor.stop();
    const before = Date.now();
    void supervisor.stop({ force: true });
    const outcome = await stopping;
    expect(Date.now() - before).toBeLessThan(2000);
    expect(outcome.unclean.map((u) => u.exit.signal)).toEqual(['SIGKILL']);
  });

  it('does not restart a service that exits during start-up: stops those already up and says which failed', async () => {
    const lines: string[] = [];
    const up = service('up', WELL_BEHAVED, settled);
    // Never ready: readiness waits for something this process never does.
    const broken = service('broken', 'process.exit(2);', () => new Promise(() => undefined));
    const never = service('never', WELL_BEHAVED);
    const supervisor = new Supervisor([up, broken, never], { report: (line) => lines.push(line) });
    expect(await supervisor.start()).toBe(false);
    const outcome = await supervisor.done;
    expect(outcome).toMatchObject({ reason: 'start-failed', exit: { code: 2, signal: null }, unclean: [] });
    if (outcome.reason !== 'start-failed') throw new Error('unreachable');
    expect(outcome.service.key).toBe('broken');
    expect(up.children[0]?.exitCode).toBe(0);
    expect(never.starts).toHaveLength(0);
    expect(lines).toEqual([]);
  });

  it('a failed readiness check is a failed start too', async () => {
    const slow = service('slow', WELL_BEHAVED, (child) => settled(child).then(() => Promise.reject(new Error('no answer within 1 s'))));
    const supervisor = new Supervisor([slow], { report: () => undefined });
    expect(await supervisor.start()).toBe(false);
    const outcome = await supervisor.done;
    expect(outcome).toMatchObject({ reason: 'start-failed', error: new Error('no answer within 1 s') });
    expect(slow.children[0]?.exitCode).toBe(0);
  });
});

describe('describeExit and formatSeconds', () => {
  it('say how a process ended and how long a delay is, as the restart line prints them', () => {
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('signal SIGKILL');
    expect(describeExit({ code: 1, signal: null })).toBe('status 1');
    expect([500, 1000, 2000, 1250].map(formatSeconds)).toEqual(['0.5 s', '1 s', '2 s', '1.25 s']);
  });
});
