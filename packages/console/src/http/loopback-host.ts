import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { invalidHost, missingHost } from './api-error.js';

/** Whether `host` (a name or an address, IPv6 without brackets) is this machine's loopback. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(name);
  return false;
}

/**
 * Refuses a request without a Host header: HTTP/1.1 requires one (RFC 9112, section 3.2), and a
 * console on loopback must see where any request was addressed (`checkLoopbackHost`). The server
 * turns off Node's own check, whose 400 has no body, so this one answers `{ error, message }`.
 */
export function requireHostHeader(request: IncomingMessage, loopbackOnly: boolean): void {
  if (request.headers.host === undefined && (loopbackOnly || request.httpVersion !== '1.0')) throw missingHost();
}

/**
 * A console bound to loopback answers only requests addressed to loopback. A web page elsewhere
 * could otherwise point its own host name at 127.0.0.1 (DNS rebinding) and read the API from a
 * browser on this machine.
 */
export function checkLoopbackHost(request: IncomingMessage): void {
  const header = request.headers.host ?? '';
  const host = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d*$/, '');
  if (!isLoopbackHost(host)) throw invalidHost(header);
}
