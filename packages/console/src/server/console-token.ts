import { ConfigError } from '@takhin/core';

/**
 * Refuses a `console.token` that no request could present: `Authorization: Bearer <token>` carries
 * one run of non-space characters (see `BearerAuth`), and Node reads header bytes as latin1, so a
 * token with a space, a control character or anything beyond ASCII would lock every client out
 * while the console looked protected. Checked when the config is loaded and again by
 * `ConsoleServer`. The message names the offending character's position, never the token.
 */
export function checkConsoleToken(token: string | undefined, origin?: string): void {
  if (token === undefined) return;
  const at = token.search(/[^\x21-\x7e]/);
  if (at < 0) return;
  const code = token.codePointAt(at)!;
  const what = code === 0x20 ? 'a space' : code < 0x20 || code === 0x7f ? 'a control character' : 'a non-ASCII character';
  throw new ConfigError(
    'console.token',
    `must be visible ASCII without spaces (the characters ! to ~), since "Authorization: Bearer <token>" can carry nothing else; character ${at + 1} is ${what}${origin === undefined ? '' : ` (set by ${origin})`}`,
  );
}
