import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { unauthorized } from './api-error.js';

/**
 * Checks `Authorization: Bearer <token>` against `console.token`. Both sides are hashed first so
 * `timingSafeEqual` compares equal lengths and the time taken says nothing about the token,
 * not even its length.
 */
export class BearerAuth {
  readonly #expected: Buffer | undefined;

  constructor(token: string | undefined) {
    this.#expected = token === undefined ? undefined : digest(token);
  }

  get required(): boolean {
    return this.#expected !== undefined;
  }

  /** Throws 401 unless a token is configured and the request carries it (or none is configured). */
  check(request: IncomingMessage): void {
    if (this.#expected === undefined) return;
    const header = request.headers.authorization;
    if (header === undefined) throw unauthorized('this console requires "Authorization: Bearer <token>" (console.token)');
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
    if (!timingSafeEqual(digest(match[1]!), this.#expected)) throw unauthorized('the bearer token is not this console\'s token');
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
