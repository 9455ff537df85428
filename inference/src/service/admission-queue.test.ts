import { status } from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { AdmissionQueue } from './admission-queue';
import { StyleServiceError } from './errors';

describe('AdmissionQueue', () => {
  it('runs up to maxConcurrent, queues up to queueLength, and refuses the rest', async () => {
    const queue = new AdmissionQueue({ maxConcurrent: 2, queueLength: 1 });
    const tickets = [queue.admit(), queue.admit(), queue.admit()];
    let refusal: unknown;
    try {
      queue.admit();
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(StyleServiceError);
    expect((refusal as StyleServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
    expect((refusal as StyleServiceError).message).toMatch(/busy.*NST_QUEUE_LENGTH=1/);
    expect(tickets.map((t) => t.position)).toEqual([0, 0, 1]);

    await tickets[0]!.acquire();
    await tickets[1]!.acquire();
    let thirdRunning = false;
    const third = tickets[2]!.acquire().then(() => (thirdRunning = true));
    await Promise.resolve();
    expect(thirdRunning).toBe(false);
    tickets[0]!.release();
    await third;
    expect(queue.active).toBe(2);
    tickets[1]!.release();
    tickets[2]!.release();
    tickets[2]!.release();
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('lets an aborted waiter leave without taking a slot', async () => {
    const queue = new AdmissionQueue({ maxConcurrent: 1, queueLength: 2 });
    const running = queue.admit();
    await running.acquire();
    const controller = new AbortController();
    const abandoned = queue.admit();
    const patient = queue.admit();
    const abandonedWait = abandoned.acquire(controller.signal);
    const patientWait = patient.acquire();
    controller.abort(new Error('cancelled by client'));
    await expect(abandonedWait).rejects.toThrow('cancelled by client');
    abandoned.release();
    running.release();
    await patientWait;
    expect([queue.active, queue.queued]).toEqual([1, 0]);
    patient.release();
  });

  it('does not hold a slot while a request is still uploading', async () => {
    const queue = new AdmissionQueue({ maxConcurrent: 1, queueLength: 1 });
    const uploading = queue.admit();
    const ready = queue.admit();
    await ready.acquire();
    expect(queue.active).toBe(1);
    uploading.release();
    ready.release();
  });

  it('estimates the wait from the work ahead at the rate it has seen finished work go', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const queue = new AdmissionQueue({ maxConcurrent: 1, queueLength: 4 });
      const first = queue.admit();
      first.declare(1_000_000);
      // Nothing has finished yet: no estimate, so nothing can be refused on a guess.
      expect(first.estimateMs()).toBeUndefined();
      await first.acquire();
      vi.advanceTimersByTime(2_000);
      first.release(true);

      // 2 ms per 1000 pixels learned. Now one 4 MP request runs and a 1 MP one waits.
      const running = queue.admit();
      running.declare(4_000_000);
      await running.acquire();
      const waiting = queue.admit();
      waiting.declare(1_000_000);
      const waited = waiting.acquire();
      const late = queue.admit();
      late.declare(2_000_000);
      // Half of the running 4 MP + the waiting 1 MP + its own 2 MP = 5 MP at 2 ms/kpx.
      expect(late.estimateMs()).toBeCloseTo(10_000);

      // Failed or cancelled work does not teach the rate.
      vi.advanceTimersByTime(1);
      running.release();
      await waited;
      expect(late.estimateMs()).toBeCloseTo((500_000 + 2_000_000) * 0.002);
      waiting.release();
      late.release();
    } finally {
      vi.useRealTimers();
    }
  });

  it('learns the server-wide rate from requests that shared the slots', async () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const queue = new AdmissionQueue({ maxConcurrent: 2, queueLength: 2 });
      const [a, b] = [queue.admit(), queue.admit()];
      a.declare(1_000_000);
      b.declare(1_000_000);
      await a.acquire();
      await b.acquire();
      // Side by side each took 4 s for 1 MP: the server did 2 MP in 4 s, 2 ms per 1000 pixels.
      vi.advanceTimersByTime(4_000);
      a.release(true);
      const probe = queue.admit();
      probe.declare(1_000_000);
      // b (still running, counted half) + own 1 MP at 2 ms/kpx.
      expect(probe.estimateMs()).toBeCloseTo(3_000);
      b.release();
      probe.release();
    } finally {
      vi.useRealTimers();
    }
  });

  it('limits the places one client holds, and counts them again once released', async () => {
    const queue = new AdmissionQueue({ maxConcurrent: 1, queueLength: 8, perClient: 2 });
    const [first, second] = [queue.admit('batch'), queue.admit('batch')];
    expect(() => queue.admit('batch')).toThrow(/client 'batch' already has 2 requests running or waiting.*NST_QUEUE_PER_CLIENT=2/);
    // Other clients, and calls without a client id, are not held to batch's limit.
    const other = queue.admit('person');
    const anonymous = [queue.admit(), queue.admit(), queue.admit()];
    await first.acquire();
    first.release(true);
    const third = queue.admit('batch');
    for (const ticket of [second, third, other, ...anonymous]) ticket.release();
    expect([queue.active, queue.queued]).toEqual([0, 0]);
  });

  it('gives a freed slot to the waiting client with the fewest running, not to the longest queue', async () => {
    const queue = new AdmissionQueue({ maxConcurrent: 2, queueLength: 8 });
    const order: string[] = [];
    const take = (client: string, ticket = queue.admit(client)) => ({ ticket, got: ticket.acquire().then(() => void order.push(client)) });
    const running = [take('batch'), take('batch')];
    await Promise.all(running.map((r) => r.got));
    // batch queues two more first; a person arrives after them.
    const waiting = [take('batch'), take('batch'), take('person')];
    await Promise.resolve();
    order.length = 0;
    running[0]!.ticket.release(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['person']);
    running[1]!.ticket.release(true);
    await Promise.resolve();
    await Promise.resolve();
    expect(order).toEqual(['person', 'batch']);
    for (const w of waiting) w.ticket.release();
    await Promise.all(waiting.map((w) => w.got));
    expect(order).toEqual(['person', 'batch', 'batch']);
  });
});
