import { isIP } from 'node:net';
import { ConfigError } from '@takhin/core';
import { isLoopbackHost } from '../http/loopback-host.js';

/** Where the console listens, from `console.listen` (`host:port`, `[v6]:port`). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** Only this machine can connect. */
  readonly loopback: boolean;
}

/**
 * Parses `console.listen`. A host is required: `:8080` means every interface to some tools and
 * loopback to others, so it is refused rather than guessed; write `127.0.0.1:8080` or `0.0.0.0:8080`.
 */
export function parseListenAddress(listen: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen);
  const fail = (why: string): never => {
    throw new ConfigError('console.listen', `${JSON.stringify(listen)} ${why}`);
  };
  if (!match) return fail('is not host:port (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080)');
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (host === '') return fail('names no host: write 127.0.0.1:PORT for this machine only, or 0.0.0.0:PORT for every interface (needs console.token)');
  if (match[1] !== undefined && isIP(host) !== 6) return fail('has brackets around something that is not an IPv6 address');
  if (port > 65535) return fail('has a port above 65535');
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) return fail('has a host that is neither an IP address nor a host name');
  return { host, port, loopback: isLoopbackHost(host) };
}

/** Beyond loopback, anyone who can reach the port could archive and evict: a token is required. */
export function requireTokenBeyondLoopback(address: ListenAddress, token: string | undefined): void {
  if (address.loopback || token !== undefined) return;
  throw new ConfigError(
    'console.token',
    `is required to listen on ${address.host}, which is not a loopback address: set console.token (or TAKHIN_CONSOLE_TOKEN), or listen on 127.0.0.1`,
  );
}

/**
 * The address the server did bind must be loopback too when the name promised it: `localhost`
 * or `x.localhost` is resolved by the system's resolver, which may be told otherwise (a hosts
 * file, a DNS answer). Checked after binding, before any request is answered.
 */
export function requireBoundLoopback(address: ListenAddress, boundIp: string, token: string | undefined): void {
  if (!address.loopback || token !== undefined || isLoopbackHost(boundIp)) return;
  throw new ConfigError(
    'console.token',
    `is required: ${address.host} resolved to ${boundIp}, which is not a loopback address; set console.token (or TAKHIN_CONSOLE_TOKEN), or listen on 127.0.0.1`,
  );
}

/** The URL a client on this machine uses to reach the console. */
export function urlOf(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${isIP(reachable) === 6 ? `[${reachable}]` : reachable}:${port}`;
}
