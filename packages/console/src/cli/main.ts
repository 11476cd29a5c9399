import { parseArgs } from 'node:util';
import { TieringError, type TakhinConfig } from '@takhin/core';
import { CliOutput } from './cli-output.js';
import type { Command, CommandContext } from './command-context.js';
import { cycleCommand } from './commands/cycle.js';
import { planCommand, rebuildCommand, statsCommand, statusCommand } from './commands/inspect.js';
import { MAX_READ_BYTES, readCommand } from './commands/read.js';
import { segmentOperation } from './commands/segment-operations.js';
import { serveCommand } from './commands/serve.js';
import { EXIT, EXIT_CODE_HELP, UsageError, exitCodeOf, type ExitCode } from './exit-codes.js';
import { printable } from './human-format.js';
import { loadCliConfig, openDataDir } from './open-data-dir.js';

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  archive: segmentOperation('archive'),
  restore: segmentOperation('restore'),
  evict: segmentOperation('evict'),
  status: statusCommand,
  stats: statsCommand,
  plan: planCommand,
  cycle: cycleCommand,
  rebuild: rebuildCommand,
  read: readCommand,
};

export const HELP = `Usage: takhin-tiered <command> [arguments] [--config FILE] [--json]

Commands:
  serve                          REST API, /metrics and the dashboard on console.listen
                                 (default 127.0.0.1:8080), and the background archiver
  archive <path...> | --due      archive segments (or every segment the policy says is due)
  restore <path...>              bring archived segments back to local disk
  evict <path...>                delete the local files of archived segments (no upload)
  status <path>                  one segment's record
  stats                          segment counts and bytes by tier
  plan                           what the next cycle would do, and why (changes nothing)
  cycle                          run one archiver cycle now
  rebuild [--take-over]          recreate the metadata from the cold store's manifests
  read <topic> <partition> <offset> [--max-bytes N]
                                 the records a fetch at <offset> returns (an archived segment
                                 is read in verified chunks, never restored)

A segment path is <topic>-<partition>/<20-digit base offset>.log, relative to storage.data.dir,
e.g. orders-0/00000000000000000000.log.

Options:
  -c, --config FILE   the config file (default ./takhin.yaml); TAKHIN_* variables override it
      --json          print one JSON document on stdout instead of lines (no progress bar)
      --due           archive: every segment the policy says is due
      --take-over     rebuild: make the cold store's prefix this data dir's even though another
                      data dir claimed it (this one takes its place for good: a replaced disk)
      --max-bytes N   read: at most N bytes of record batches (default 1048576,
                      at most ${MAX_READ_BYTES} (64 MiB); at least one whole batch is always read)
  -h, --help          this help

Progress bars (segments, bytes, rate, ETA) are drawn only when stdout is a terminal; otherwise
each finished segment is one plain line.

While "takhin-tiered serve" holds the data dir, the other commands refuse to run (exit 5) and
name the running console's URL: use its REST API instead, or stop it.

${EXIT_CODE_HELP}
`;

export interface MainOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly stdout?: NodeJS.WriteStream;
  readonly stderr?: NodeJS.WriteStream;
}

/** The CLI: runs one command and resolves to its exit code (the caller exits with it). */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<ExitCode> {
  const env = options.env ?? process.env;
  const wantsJson = argv.includes('--json');
  const output = new CliOutput(wantsJson, options.stdout, options.stderr);
  try {
    const { values, positionals } = parseCommandLine(argv);
    if (values.help) {
      (options.stdout ?? process.stdout).write(HELP);
      return EXIT.OK;
    }
    const [name, ...rest] = positionals;
    if (name === undefined) throw new UsageError('no command given; try --help');
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(printable(name))}; try --help`);
    if (values['take-over'] && name !== 'rebuild') throw new UsageError(`--take-over is an option of rebuild alone, not of ${name}`);
    const configPath = values.config ?? './takhin.yaml';
    let config: Promise<TakhinConfig> | undefined;
    const context: CommandContext = {
      positionals: rest,
      options: { due: values.due ?? false, maxBytes: values['max-bytes'], takeOver: values['take-over'] ?? false },
      output,
      env,
      config: () => (config ??= loadCliConfig(configPath, env)),
      open: async (owner = { command: `takhin-tiered ${name}` }, open = {}) => openDataDir(await context.config(), owner, open),
    };
    return await command(context);
  } catch (error) {
    const code = exitCodeOf(error);
    const kind = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : code === EXIT.USAGE ? 'USAGE' : code === EXIT.CONFIG ? 'CONFIG' : 'ERROR';
    const message = error instanceof Error ? error.message : String(error);
    // A read past the end names where the log ends (in the message too): the offset to read up to.
    const details: Record<string, string> = error instanceof TieringError && error.logEndOffset !== undefined ? { log_end_offset: String(error.logEndOffset) } : {};
    output.error(kind, code === EXIT.USAGE ? `${message}\n(takhin-tiered --help lists the commands)` : message, details);
    // Not a failure the model names: a bug, whose stack is what the operator should send us.
    if (kind === 'ERROR' && error instanceof Error && error.stack) (options.stderr ?? process.stderr).write(`${error.stack}\n`);
    return code;
  }
}

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        json: { type: 'boolean' },
        due: { type: 'boolean' },
        'take-over': { type: 'boolean' },
        'max-bytes': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
