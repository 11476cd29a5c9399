import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { unauthorized } from './api-error.js';

/**
 * Checks a request's credentials against `console.token`: `Authorization: Bearer <token>`, or
 * `Basic` with the token as the password (any user name) — what a browser sends for the
 * dashboard's page after its login prompt, since a page load cannot carry a bearer token. Both
 * sides are hashed first so `timingSafeEqual` compares equal lengths and the time taken says
 * nothing about the token, not even its length.
 */
export class BearerAuth {
  readonly #expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.#expected = token === undefined ? undefined : digest(token);
  }

  get required(): boolean {
    return this.#expected !== undefined;
  }

  /**
   * Throws 401 unless a token is configured and the request carries it (or none is configured).
   * `challenge`: `Basic` for the dashboard's files, so a browser asks for the token.
   */
  check(request: IncomingMessage, challenge: 'Bearer' | 'Basic' = 'Bearer'): void {
    if (this.#expected === undefined) return;
    const header = request.headers.authorization;
    if (header === undefined) throw unauthorized('this console requires "Authorization: Bearer <token>" (console.token)', challenge);
    const token = tokenOf(header);
    if (token === undefined) throw unauthorized('the Authorization header must be "Bearer <token>" (or Basic, with the token as the password)', challenge);
    if (!timingSafeEqual(digest(token), this.#expected)) throw unauthorized("the token is not this console's token", challenge);
  }
}

/** The token a `Bearer` or `Basic` Authorization header carries, or undefined for anything else. */
function tokenOf(header: string): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
