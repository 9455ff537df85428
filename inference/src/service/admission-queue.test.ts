import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
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
});
