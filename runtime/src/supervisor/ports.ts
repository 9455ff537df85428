/**
 * Checks that the ports the services are about to listen on are free, so `npm start` can say
 * in one sentence which setting to change instead of a service dying with a stack trace.
 */
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';

/** One port a service will listen on. */
export interface PortClaim {
  /** What listens there, for the message (`web app`, `StyleService metrics`). */
  what: string;
  /** The interface; 0.0.0.0 for all of them. A name (localhost) is checked on each of its addresses. */
  host: string;
  port: number;
  /** The setting that moves it (`NST_GATEWAY_PORT`). */
  env: string;
  /** The setting that names the host, when it is another one (`NST_GATEWAY_HOST`). */
  hostEnv?: string;
  /** The setting's value with another port, for the suggestion; default the port alone. */
  withPort?(port: number): string;
}

export interface PortProblem {
  claim: PortClaim;
  /** EADDRINUSE, EACCES, EADDRNOTAVAIL... or DUPLICATE (two settings name one port). */
  code: string;
  message: string;
}

/** Why `host:port` cannot be listened on (an errno code), or undefined when it can. */
export function probePort(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'EUNKNOWN'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** The addresses a host names, and whether they came from a name lookup (localhost) rather than the host itself. */
async function addressesOf(host: string): Promise<{ addresses: string[]; looked: boolean }> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (/^[0-9.]+$/.test(bare) || bare.includes(':')) return { addresses: [bare], looked: false };
  try {
    return { addresses: [...new Set((await lookup(bare, { all: true })).map((entry) => entry.address))], looked: true };
  } catch {
    return { addresses: [bare], looked: false };
  }
}

/** Why `claim` cannot be listened on, checked on every address its host names; undefined when it can. */
async function probeClaim(claim: PortClaim): Promise<string | undefined> {
  const { addresses, looked } = await addressesOf(claim.host);
  for (const address of addresses) {
    const code = await probePort(address, claim.port);
    // A name resolving to an address family this machine lacks (::1 without IPv6) is no conflict.
    if (code && !(code === 'EADDRNOTAVAIL' && looked)) return code;
  }
  return undefined;
}

/** A free port near `port` that no claim names, for the suggestion; undefined when none is found. */
async function freePortNear(claim: PortClaim, taken: Set<number>): Promise<number | undefined> {
  for (let port = claim.port + 1; port <= Math.min(65535, claim.port + 50); port++) {
    if (!taken.has(port) && (await probeClaim({ ...claim, port })) === undefined) return port;
  }
  return undefined;
}

/** The sentence for a port that cannot be had, naming what wanted it and the setting that moves it. */
export function portProblemMessage(claim: PortClaim, code: string, suggestion?: number): string {
  const setting = suggestion === undefined ? `set ${claim.env} to another port` : `set ${claim.env}=${claim.withPort?.(suggestion) ?? suggestion}`;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${claim.port} is already in use (${claim.what}); stop the other program or ${setting}`;
    case 'EACCES':
      return `port ${claim.port} needs administrator rights on this machine (${claim.what}); ${suggestion === undefined ? `set ${claim.env} to a port above 1023` : setting}`;
    case 'EADDRNOTAVAIL':
      return `${claim.host} is not an address of this machine (${claim.what}); set ${claim.hostEnv ?? claim.env} to one of its addresses (127.0.0.1 for this machine only)`;
    default:
      return `cannot listen on ${claim.host}:${claim.port} (${claim.what}): ${code}; ${setting}`;
  }
}

/**
 * Every claim that cannot be listened on, with its sentence: taken ports, ports needing rights,
 * foreign addresses, and two settings naming one port. Port 0 (any free port) is never a problem.
 */
export async function checkPorts(claims: PortClaim[]): Promise<PortProblem[]> {
  const problems: PortProblem[] = [];
  const taken = new Set(claims.map((claim) => claim.port));
  const seen = new Map<number, PortClaim>();
  for (const claim of claims) {
    if (claim.port === 0) continue;
    const first = seen.get(claim.port);
    if (first) {
      problems.push({
        claim,
        code: 'DUPLICATE',
        message: `${first.env} and ${claim.env} both name port ${claim.port} (${first.what} and ${claim.what}); give one of them another port`,
      });
      continue;
    }
    seen.set(claim.port, claim);
    const code = await probeClaim(claim);
    if (!code) continue;
    const suggestion = code === 'EADDRINUSE' || code === 'EACCES' ? await freePortNear(code === 'EACCES' ? { ...claim, port: Math.max(claim.port, 8079) } : claim, taken) : undefined;
    // Two taken ports are not both told to move to the same one.
    if (suggestion !== undefined) taken.add(suggestion);
    problems.push({ claim, code, message: portProblemMessage(claim, code, suggestion) });
  }
  return problems;
}

/** The port of an "EADDRINUSE: address already in use 127.0.0.1:8080" line (Node's and grpc-js's wording), if it is one. */
export function addressInUsePort(line: string): number | undefined {
  const match = /EADDRINUSE:? address already in use \S*?:(\d{1,5})\b/.exec(line);
  return match ? Number(match[1]) : undefined;
}
