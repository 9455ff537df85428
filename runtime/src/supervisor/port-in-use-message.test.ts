/**
 * A port another program holds is found before the services start, and named in one sentence
 * with the setting that moves it; a service's own EADDRINUSE line is recognised too.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressInUsePort, checkPorts, probePort, type PortClaim } from './ports';

let other: Server;
let taken: number;
beforeAll(async () => {
  other = createServer();
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  taken = (other.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const web = (port: number): PortClaim => ({ what: 'web app', host: 'localhost', port, env: 'NST_GATEWAY_PORT' });

describe('checkPorts', () => {
  it('names a taken port, what wanted it and the setting to change, with a free port to try', async () => {
    const problems = await checkPorts([web(taken)]);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.code).toBe('EADDRINUSE');
    expect(problems[0]?.message).toMatch(new RegExp(`^port ${taken} is already in use \\(web app\\); stop the other program or set NST_GATEWAY_PORT=\\d+$`));
    const suggested = Number(/=(\d+)$/.exec(problems[0]?.message ?? '')?.[1]);
    expect(suggested).toBeGreaterThan(taken);
    expect(await probePort('127.0.0.1', suggested)).toBeUndefined();
  });

  it('writes the suggestion in the form of the setting (host:port) and sees a port held on 127.0.0.1 from all interfaces', async () => {
    const grpc: PortClaim = { what: 'StyleService', host: '127.0.0.1', port: taken, env: 'NST_STYLE_ADDR', withPort: (port) => `127.0.0.1:${port}` };
    const metrics: PortClaim = { what: 'StyleService metrics', host: '0.0.0.0', port: taken, env: 'NST_STYLE_METRICS_PORT' };
    const [first] = await checkPorts([grpc]);
    expect(first?.message).toMatch(new RegExp(`^port ${taken} is already in use \\(StyleService\\); stop the other program or set NST_STYLE_ADDR=127\\.0\\.0\\.1:\\d+$`));
    const [second] = await checkPorts([metrics]);
    expect(second?.code).toBe('EADDRINUSE');
  });

  it('passes free ports and port 0, and names two settings that share a port', async () => {
    const free = await freePort();
    expect(await checkPorts([web(free), web(0), { ...web(0), env: 'NST_STYLE_METRICS_PORT' }])).toEqual([]);
    const problems = await checkPorts([web(free), { what: 'StyleService metrics', host: '0.0.0.0', port: free, env: 'NST_STYLE_METRICS_PORT' }]);
    expect(problems.map((p) => p.message)).toEqual([
      `NST_GATEWAY_PORT and NST_STYLE_METRICS_PORT both name port ${free} (web app and StyleService metrics); give one of them another port`,
    ]);
  });

  it('names the host setting for an address this machine does not have', async () => {
    const [problem] = await checkPorts([{ ...web(await freePort()), host: '192.0.2.1', hostEnv: 'NST_GATEWAY_HOST' }]);
    expect(problem?.message).toBe('192.0.2.1 is not an address of this machine (web app); set NST_GATEWAY_HOST to one of its addresses (127.0.0.1 for this machine only)');
  });

  it('suggests a different free port for each taken one', async () => {
    // A second port held next to the first, so both look for a free one in the same place.
    const neighbour = createServer();
    const next = await new Promise<number | undefined>((resolve) => {
      neighbour.once('error', () => resolve(undefined));
      neighbour.listen(taken + 1, '127.0.0.1', () => resolve(taken + 1));
    });
    try {
      if (next === undefined) return; // the neighbouring port belongs to someone else: nothing to compare
      const problems = await checkPorts([web(taken), { what: 'StyleService', host: '127.0.0.1', port: next, env: 'NST_STYLE_METRICS_PORT' }]);
      const suggestions = problems.map((p) => Number(/=(\d+)$/.exec(p.message)?.[1]));
      expect(suggestions).toHaveLength(2);
      expect(new Set(suggestions).size).toBe(2);
    } finally {
      await new Promise<void>((resolve) => neighbour.close(() => resolve()));
    }
  });
});

describe('addressInUsePort', () => {
  it("reads the port from Node's and grpc-js's EADDRINUSE lines, and nothing from other lines", () => {
    expect(addressInUsePort('Error: listen EADDRINUSE: address already in use 127.0.0.1:8080')).toBe(8080);
    expect(addressInUsePort('No address added out of total 1 resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:50051]')).toBe(50051);
    expect(addressInUsePort('listen EADDRINUSE: address already in use :::9461')).toBe(9461);
    expect(addressInUsePort('StyleService listening')).toBeUndefined();
  });
});
