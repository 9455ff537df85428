/**
 * `npm start` and the `nst` CLI together, as a person uses them: start the platform on free
 * ports with a fresh data folder, wait for every server's health to say SERVING, train a
 * tiny style with `nst train` (watching it live), list jobs and versions, stylize a photo,
 * rate it, check the error sentences, then Ctrl-C (SIGINT) and expect a clean exit 0.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForServing } from '@nst/runtime';
import { painting, writeTrainingPhotos } from '@nst/test-kit';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const NST = path.join(REPO, 'cli', 'bin', 'nst.js');

/**
 * A free port below the kernel's ephemeral range (32768 and up on Linux), so that no server
 * another test binds to port 0 can take it between this check and the platform's bind.
 */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

let root: string;
let env: NodeJS.ProcessEnv;
let platform: ChildProcess;
let output = '';

function nst(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [NST, ...args], { env, cwd: root, timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'nst-start-'));
  await writeTrainingPhotos(path.join(root, 'photos'));
  env = {
    ...process.env,
    NST_DATA_DIR: path.join(root, 'data'),
    NST_STYLE_ADDR: `127.0.0.1:${await freePort()}`,
    NST_TRAINER_ADDR: `127.0.0.1:${await freePort()}`,
    NST_RELEASE_ADDR: `127.0.0.1:${await freePort()}`,
    // Nothing fixed: other suites start the platform at the same time.
    NST_GATEWAY_HOST: '127.0.0.1',
    NST_GATEWAY_PORT: String(await freePort()),
    NST_STYLE_METRICS_PORT: '0',
    NST_TRAINER_METRICS_PORT: '0',
    NST_RELEASE_METRICS_PORT: '0',
    NST_STARTER_DIR: path.join(root, 'no-starter-styles-yet'),
    NST_PHOTOS_DIR: path.join(root, 'photos'),
    NST_LOG_LEVEL: 'warn',
    XDG_STATE_HOME: path.join(root, 'state'),
    NST_ADMIN_TOKEN: '',
  };
  platform = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'scripts', 'start.ts')], { env, cwd: REPO });
  platform.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  platform.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForServing(env['NST_STYLE_ADDR']!, { timeoutMs: 240_000 });
  await waitForServing(env['NST_TRAINER_ADDR']!, { timeoutMs: 240_000 });
  // The summary comes once every service is up.
  for (let i = 0; i < 1800 && !output.includes('Press Ctrl-C to stop.') && platform.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (platform.exitCode !== null || !output.includes('Press Ctrl-C to stop.')) {
    throw new Error(`npm start did not come up (exit code ${platform.exitCode}):\n${output}`);
  }
  // Four services start one after another; on a loaded 2-core machine that takes minutes.
}, 300_000);

afterAll(async () => {
  // SIGTERM lets npm start stop its services; SIGKILL of the parent alone would orphan them.
  if (platform && platform.exitCode === null) {
    platform.kill('SIGTERM');
    const exited = new Promise((resolve) => platform.once('exit', resolve));
    if ((await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('late'), 60_000))])) === 'late') platform.kill('SIGKILL');
  }
  await rm(root, { recursive: true, force: true });
});

describe('npm start and the nst CLI', () => {
  it('starts every service, generates the admin token, and says where everything is', async () => {
    expect(output).toContain(`StyleService     ${env['NST_STYLE_ADDR']}`);
    expect(output).toContain(`TrainerService   ${env['NST_TRAINER_ADDR']}`);
    // buf comes with the project (npx), grpcurl rarely: buf's form first.
    expect(output).toContain(`npx buf curl --protocol grpc --http2-prior-knowledge http://${env['NST_STYLE_ADDR']}/nst.v1.StyleService/ListStyles`);
    expect(output.indexOf('npx buf curl')).toBeLessThan(output.indexOf('grpcurl -plaintext'));
    expect(output).toContain(path.join(env['NST_DATA_DIR']!, 'logs', '<service>.log'));
    expect(output).toMatch(/nothing was seeded/);
    const tokenFile = path.join(env['NST_DATA_DIR']!, 'admin-token');
    expect(output).toContain(tokenFile);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
  });

  it('trains a style with `nst train`, watching it to the end, then lists jobs and versions', async () => {
    const file = path.join(root, 'painting.jpg');
    await sharp(await painting()).toFile(file);
    const trained = await nst(['train', file, '--name', 'cli-style', '--steps', '3', '--image-size', '32', '--batch-size', '1', '--loss-network', 'random']);
    expect(trained.stderr + trained.stdout).toMatch(/step 3\/3/);
    expect(trained.stdout).toMatch(/cli-style version 1 is registered/);
    expect(trained.code).toBe(0);

    const jobs = await nst(['jobs']);
    expect(jobs.stdout).toMatch(/create-style\s+cli-style\s+succeeded\s+3\/3/);
    const versions = await nst(['versions', 'cli-style']);
    expect(versions.stdout).toMatch(/^1\s+-\s+trained/m);
    const styles = await nst(['styles']);
    expect(styles.stdout).toMatch(/cli-style\s+Test|cli-style\s+cli-style/);
  });

  it('passes `nst train --style-statistic` to the trainer, which refuses sliced on the random network with the ways out', async () => {
    const file = path.join(root, 'sliced-painting.jpg');
    await sharp(await painting()).toFile(file);
    const refused = await nst(['train', file, '--name', 'cli-sliced', '--image-size', '32', '--loss-network', 'random', '--style-statistic', 'sliced']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/style_statistic is sliced.*LOSS_NETWORK_IMAGENET, or STYLE_STATISTIC_COVARIANCE/);
  });

  it('stylizes a folder of photos into an output folder and rates a result', async () => {
    const out = path.join(root, 'out');
    const result = await nst(['stylize', path.join(root, 'photos'), '--style', 'cli-style', '--format', 'png', '-o', out]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const written = await readdir(out);
    expect(written.filter((name) => name.endsWith('-cli-style-1.png'))).toHaveLength(3);
    const first = result.stdout.split('\n')[0]!;
    expect(first).toMatch(/cli-style version 1, request \S+; decode/);
    // A style trained here is quantized at export; on these three tiny photos its int8 model may or may not pass.
    expect(first).toMatch(/inference [\d.]+ m?s \((int8|fp32)\)/);
    const requestId = /request (\S+);/.exec(first)![1]!;
    expect((await sharp(path.join(out, written.sort()[0]!)).metadata()).format).toBe('png');

    const rated = await nst(['feedback', requestId, 'bad', '--reason', 'too dark', '--consent']);
    expect(rated.stdout).toMatch(/Recorded bad feedback .* for cli-style version 1; the photo is kept for training\./);
    const feedback = await readFile(path.join(env['NST_DATA_DIR']!, 'feedback', 'feedback.jsonl'), 'utf8');
    expect(feedback).toContain(requestId);
  });

  it('shows rollouts and release decisions with `nst releases`, and refuses a canary of an unknown version', async () => {
    expect(output).toContain(`ReleaseService   ${env['NST_RELEASE_ADDR']}`);
    const list = await nst(['releases']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/cli-style\s+stable\s+1\s+-\s+100%/);
    const one = await nst(['releases', 'get', 'cli-style']);
    expect(one.stdout).toMatch(/cli-style: stable, stable version 1 \(ladder 10, 25, 50, 100\)/);
    expect(one.stdout).toMatch(/stable version 1: \d+ calls, 0 errors/);
    const unknown = await nst(['releases', 'start', 'cli-style', '9']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/ReleaseService: style 'cli-style' has no version '9'.*\(NOT_FOUND\)/);
    const none = await nst(['releases', 'promote', 'cli-style']);
    expect(none.stderr).toMatch(/no canary in progress.*\(FAILED_PRECONDITION\)/);
    expect((await nst(['releases', 'decisions', 'cli-style'])).stdout).toMatch(/No release decisions for cli-style yet\./);
  });

  it('prints failures as sentences and exits non-zero', async () => {
    const unknown = await nst(['stylize', path.join(root, 'photos', 'photo-0.png'), '--style', 'no-such-style', '-o', path.join(root, 'x')]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/style 'no-such-style' does not exist/);
    const wrongToken = await nst(['--token', 'wrong', 'cancel', 'whatever']);
    expect(wrongToken.code).not.toBe(0);
    expect(wrongToken.stderr).toMatch(/admin token is wrong.*\(PERMISSION_DENIED\)/);
    const down = await nst(['--trainer-addr', '127.0.0.1:1', 'jobs']);
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/cannot reach TrainerService at 127\.0\.0\.1:1/);
  });

  it('stops every service on Ctrl-C and exits 0', async () => {
    const exited = new Promise<number | null>((resolve) =>
      platform.exitCode !== null ? resolve(platform.exitCode) : platform.once('exit', (code) => resolve(code)),
    );
    platform.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
