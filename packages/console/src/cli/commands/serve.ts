import { ConfigError } from '@takhin/core';
import { ConsoleServer } from '../../server/console-server.js';
import { parseListenAddress, requireTokenBeyondLoopback } from '../../server/listen-address.js';
import type { Command } from '../command-context.js';
import { EXIT, UsageError } from '../exit-codes.js';
import { printable } from '../human-format.js';

/** How long a stop waits for an operation in flight before aborting it (each abort rolls back). */
const STOP_GRACE_MS = 30_000;

/**
 * `serve`: the REST API, `/metrics` and the dashboard on `console.listen`, and the background
 * archiver when `auto.archive.enabled`. Holds the data dir's lock, with its URL in it, until
 * SIGINT or SIGTERM, then stops cleanly.
 */
export const serveCommand: Command = async (context) => {
  if (context.positionals.length > 0) throw new UsageError('serve takes no arguments');
  const config = await context.config();
  const address = parseListenAddress(config.console.listen);
  requireTokenBeyondLoopback(address, config.console.token);
  const server = new ConsoleServer({ token: config.console.token });
  const url = await server.listen(address).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL') {
      throw new ConfigError('console.listen', `cannot listen on ${config.console.listen}: ${error.code}`);
    }
    throw error;
  });
  let tiered;
  try {
    tiered = await context.open({ listen: url, command: 'takhin-tiered serve' });
  } catch (error) {
    await server.close();
    throw error;
  }
  server.attach(tiered);
  const { output } = context;
  // The archiver's failures, which no request answers: a cycle's (its refresh) and its steps' (each
  // tried again later). Else an archiver that stopped working, its cold store's prefix taken over
  // by another data dir, a denied key, showed only as a counter in /metrics.
  tiered.on('operation:failed', (failure) => {
    if (failure.operation !== 'cycle' && failure.retryAt === undefined) return;
    // A step's message names its operation and segment ("cannot archive <path>: …").
    const what = failure.operation === 'cycle' ? 'a cycle failed: ' : '';
    const retry = failure.retryAt === undefined ? '' : ` (tried again from ${new Date(failure.retryAt).toISOString()})`;
    output.warn(`archiver: ${what}${printable(failure.error.message)}${retry}`);
  });
  const archiving = tiered.start();
  output.line(`takhin-tiered console on ${url}/  (data dir ${tiered.dataDir}, backend ${config.storage.tiered.backend}, ${config.console.token ? 'token required' : 'no token: loopback only'}, background archiver ${archiving ? 'on' : 'off'})`);
  output.document({ listen: url, data_dir: tiered.dataDir, backend: config.storage.tiered.backend, background_archiver: archiving });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  output.line(`${signal}: stopping (operations in flight get ${STOP_GRACE_MS / 1000} s to finish)`);
  const abortLater = setTimeout(() => void tiered.stop({ abort: true }), STOP_GRACE_MS).unref();
  await server.close();
  await tiered.stop();
  clearTimeout(abortLater);
  await tiered.close();
  return EXIT.OK;
};
