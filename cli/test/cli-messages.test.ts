/**
 * What a person reads from `nst`, against in-process fake services (no platform start-up):
 * errors name `nst` commands rather than RPCs, `nst cancel` of a finished job fails with a
 * sentence and a non-zero exit, the training status line fits 80 columns, and an unknown
 * style fails once for a folder of images, before any image is sent.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, status, type ServerErrorResponse } from '@grpc/grpc-js';
import {
  Job,
  JobKind,
  JobState,
  ReleaseServiceService,
  StyleServiceService,
  TrainerServiceService,
  type ReleaseServiceServer,
  type Style,
  type StyleServiceServer,
  type TrainerServiceServer,
} from '@nst/proto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../src/grpc';
import type { CliContext } from '../src/context';
import { cancelJob, progressLine } from '../src/commands/jobs';
import { stylize } from '../src/commands/stylize';
import { releaseEndpoint, styleEndpoint, trainerEndpoint } from '../src/grpc';
import { RequestHistory } from '../src/history';
import { adviseCommand } from '../src/messages';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const NST = path.join(REPO, 'cli', 'bin', 'nst.js');

const failure = (code: status, details: string): ServerErrorResponse => Object.assign(new Error(details), { code, details });
const job = (fields: Partial<Job>): Job => Job.fromPartial({ id: 'job-1', kind: JobKind.JOB_KIND_CREATE_STYLE, style: 'swirl', totalSteps: 600, ...fields });

/** What the fake services answer, set per test. */
const fake = {
  styles: [] as Style[],
  stylizeCalls: 0,
  cancelled: job({ state: JobState.JOB_STATE_CANCELLED }),
  promoteError: '',
  cancelError: '',
};

let server: Server;
let address: string;
let root: string;

beforeAll(async () => {
  server = new Server();
  const styleService: StyleServiceServer = {
    listStyles: (_call, callback) => callback(null, { styles: fake.styles }),
    stylize: (call) => {
      fake.stylizeCalls++;
      call.emit('error', failure(status.NOT_FOUND, 'unexpected'));
      call.end();
    },
    stylizeImage: (call) => call.end(),
    submitFeedback: (_call, callback) => callback(failure(status.UNIMPLEMENTED, 'not in this test')),
  };
  server.addService(StyleServiceService, styleService);
  const unimplemented = (_call: unknown, callback: (error: ServerErrorResponse) => void) => callback(failure(status.UNIMPLEMENTED, 'not in this test'));
  const trainerService: TrainerServiceServer = {
    createStyle: unimplemented,
    createStyleFromImage: unimplemented,
    fineTune: unimplemented,
    watchJob: (call) => call.end(),
    listJobs: unimplemented,
    getJob: unimplemented,
    cancelJob: (_call, callback) =>
      fake.cancelError ? callback(failure(status.NOT_FOUND, fake.cancelError)) : callback(null, { job: fake.cancelled }),
    listVersions: unimplemented,
    watchVersions: (call) => call.end(),
    fetchModel: (call) => call.end(),
    keepPhoto: unimplemented,
  };
  server.addService(TrainerServiceService, trainerService);
  const releaseService: ReleaseServiceServer = {
    watchRollouts: (call) => call.end(),
    listRollouts: unimplemented,
    getRollout: unimplemented,
    startCanary: unimplemented,
    setWeight: unimplemented,
    promote: (_call, callback) => callback(failure(status.FAILED_PRECONDITION, fake.promoteError)),
    rollback: unimplemented,
    listDecisions: unimplemented,
  };
  server.addService(ReleaseServiceService, releaseService);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  address = `127.0.0.1:${port}`;
  root = await mkdtemp(path.join(tmpdir(), 'nst-cli-messages-'));
});

afterAll(async () => {
  server.forceShutdown();
  await rm(root, { recursive: true, force: true });
});

beforeEach(() => {
  fake.styles = [];
  fake.stylizeCalls = 0;
  fake.cancelled = job({ state: JobState.JOB_STATE_CANCELLED });
  fake.promoteError = '';
  fake.cancelError = '';
});

function context(): CliContext & { printed: string[]; noted: string[] } {
  const printed: string[] = [];
  const noted: string[] = [];
  return {
    style: styleEndpoint(address),
    trainer: trainerEndpoint(address),
    release: releaseEndpoint(address),
    token: 'test-token',
    history: new RequestHistory(path.join(root, 'state')),
    print: (line) => printed.push(line),
    note: (line) => noted.push(line),
    interactive: false,
    printed,
    noted,
  };
}

/** Runs the real `nst` against the fake services. */
function nst(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, NST_STYLE_ADDR: address, NST_TRAINER_ADDR: address, NST_RELEASE_ADDR: address, NST_ADMIN_TOKEN: 'test-token', XDG_STATE_HOME: path.join(root, 'state') };
  return new Promise((resolve) => {
    execFile(process.execPath, [NST, ...args], { env, cwd: root, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('error sentences name nst commands, not RPCs', () => {
  it('rewrites the advice of each server sentence into the command that follows it', () => {
    expect(adviseCommand("style 'mosaic' has no canary in progress to promote; start a canary of one of its versions first")).toBe(
      "style 'mosaic' has no canary in progress to promote; start one with `nst releases start mosaic <version>`",
    );
    expect(adviseCommand('there is no job "j-9"; check the id in the list of jobs')).toBe('there is no job "j-9"; list jobs with `nst jobs`');
    expect(adviseCommand('style "swirl" already exists; fine-tune it instead, or choose another name')).toBe(
      'style "swirl" already exists; fine-tune it with `nst finetune swirl`, or choose another --name',
    );
    expect(adviseCommand('job j-2 is already fine-tuning swirl version 3; follow that job instead')).toBe(
      'job j-2 is already fine-tuning swirl version 3; follow it with `nst watch j-2`',
    );
    expect(adviseCommand("style 'mosaic' already has canary version 4 at 10%; promote it or roll it back first")).toMatch(
      /`nst releases promote mosaic`.*`nst releases rollback mosaic`/,
    );
    expect(adviseCommand('something else; as it was')).toBe('something else; as it was');
  });

  it('prints the command in the sentence nst shows for a promote without a canary', async () => {
    fake.promoteError = "style 'mosaic' has no canary in progress to promote; start a canary of one of its versions first";
    const result = await nst(['releases', 'promote', 'mosaic']);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      "nst: ReleaseService: style 'mosaic' has no canary in progress to promote; start one with `nst releases start mosaic <version>` (FAILED_PRECONDITION)",
    );
  });

  it('leaves no server error sentence in inference, mesh or trainer telling a person to call an RPC', async () => {
    const rpcs = ['ListStyles', 'Stylize', 'StylizeImage', 'SubmitFeedback', 'CreateStyle', 'FineTune', 'WatchJob', 'ListJobs', 'GetJob', 'CancelJob', 'ListVersions', 'ListRollouts', 'GetRollout', 'StartCanary', 'SetWeight', 'Promote', 'Rollback', 'ListDecisions'];
    const advice = new RegExp(`\\b(with|see|use|call|via|try) (${rpcs.join('|')})\\b`);
    const offenders: string[] = [];
    for (const dir of ['inference/src', 'mesh/src', 'trainer/src/service']) {
      for (const entry of await readdir(path.join(REPO, dir), { recursive: true })) {
        if (!entry.endsWith('.ts') || entry.endsWith('.test.ts')) continue;
        const text = await readFile(path.join(REPO, dir, entry), 'utf8');
        text.split('\n').forEach((line, i) => {
          if (advice.test(line) && /['"`]/.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`${dir}/${entry}:${i + 1}: ${line.trim()}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('nst cancel', () => {
  it('fails with a sentence, exiting non-zero, when the job had already failed', async () => {
    fake.cancelled = job({ state: JobState.JOB_STATE_FAILED, error: 'the painting could not be decoded' });
    const result = await nst(['cancel', 'job-1']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toBe('nst: job job-1 had already failed, so there was nothing to cancel: the painting could not be decoded');
  });

  it('fails when the job had already succeeded, and succeeds when it is cancelled', async () => {
    fake.cancelled = job({ state: JobState.JOB_STATE_SUCCEEDED, resultVersion: '2' });
    await expect(cancelJob(context(), 'job-1')).rejects.toThrow(new CliError('job job-1 had already succeeded (swirl version 2), so there was nothing to cancel'));
    fake.cancelled = job({ state: JobState.JOB_STATE_CANCELLED });
    const ctx = context();
    await cancelJob(ctx, 'job-1');
    expect(ctx.printed).toEqual(['Job job-1 is cancelled.']);
  });

  it('says to list jobs with `nst jobs` for an unknown job', async () => {
    fake.cancelError = 'there is no job "nope"; check the id in the list of jobs';
    await expect(cancelJob(context(), 'nope')).rejects.toThrow('TrainerService: there is no job "nope"; list jobs with `nst jobs` (NOT_FOUND)');
  });
});

describe('nst train status line', () => {
  it('fits in 80 columns with every figure the trainer sends', () => {
    const busy = job({
      state: JobState.JOB_STATE_RUNNING,
      step: 12_345,
      totalSteps: 100_000,
      losses: { total: 123456.789, content: 98765.4321, style: 24680.1357, tv: 11.1111, perceptual: 0.000123 },
      imagesPerSecond: 12.3456,
      etaSeconds: 98_765,
    });
    const line = progressLine(busy);
    expect(line.length).toBeLessThan(80);
    expect(line).toBe('running step 12345/100000  loss 1.23e+5  12.35 img/s  ETA 27h26m');
    expect(progressLine(busy, 40).length).toBeLessThan(40);
    expect(progressLine(busy, 40)).toBe('running step 12345/100000  loss 1.23e+5');
  });
});

describe('nst stylize with an unknown style', () => {
  it('fails once for a folder of images, before sending any', async () => {
    const photos = path.join(root, 'photos');
    await rm(photos, { recursive: true, force: true });
    await mkdir(photos, { recursive: true });
    for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) await writeFile(path.join(photos, name), 'not really a jpeg');
    fake.styles = [{ id: 'mosaic', displayName: 'Mosaic', description: '', latestVersion: '2', versions: ['1', '2'] }];
    const ctx = context();
    const out = path.join(root, 'out');
    await expect(stylize(ctx, [photos], { style: 'no-such-style', format: 'jpeg', out, timeout: 10 })).rejects.toThrow(
      "style 'no-such-style' does not exist; the styles are mosaic (see `nst styles`)",
    );
    await expect(stylize(ctx, [photos], { style: 'mosaic', version: '7', format: 'jpeg', out, timeout: 10 })).rejects.toThrow(
      "style 'mosaic' has no version '7'; its versions are 1, 2",
    );
    expect(fake.stylizeCalls).toBe(0);
    expect(ctx.noted).toEqual([]);
  });
});
