import { ConfigError, TieringError } from '@takhin/core';

/** What `takhin-tiered` exits with; scripts may rely on these numbers. */
export const EXIT = {
  /** Everything asked for was done (or already so). */
  OK: 0,
  /** An operation failed or was refused (upload error, active segment, tiering disabled, …). */
  OPERATION_FAILED: 1,
  /** The command line is wrong: unknown command or option, missing argument. */
  USAGE: 2,
  /** The config file is missing or invalid, or the console cannot listen as configured. */
  CONFIG: 3,
  /** A segment path, partition or offset is malformed or unknown; nothing was done. */
  NOT_FOUND: 4,
  /** Another process (usually `takhin-tiered serve`) tiers this data dir; nothing was done. */
  DATA_DIR_LOCKED: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake on the command line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['INVALID_SEGMENT_PATH', 'UNKNOWN_SEGMENT', 'UNKNOWN_PARTITION', 'OFFSET_OUT_OF_RANGE']);

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.USAGE;
  if (error instanceof ConfigError) return EXIT.CONFIG;
  if (error instanceof TieringError) {
    if (error.code === 'DATA_DIR_LOCKED') return EXIT.DATA_DIR_LOCKED;
    if (NOT_FOUND_CODES.has(error.code)) return EXIT.NOT_FOUND;
  }
  return EXIT.OPERATION_FAILED;
}

/** The exit code table as `--help` prints it. */
export const EXIT_CODE_HELP = `Exit codes:
  0  ok: everything asked for was done (or already so)
  1  an operation failed or was refused (e.g. the active segment, tiering disabled, a cold store error)
  2  usage error: unknown command or option, missing or extra argument
  3  config error: the config file is missing or invalid, or the console cannot listen as configured
  4  not found or invalid input: a malformed or unknown segment path, partition or offset; nothing was done
  5  the data dir is locked by another process (a running "takhin-tiered serve"); nothing was done`;
