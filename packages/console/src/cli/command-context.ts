import type { TakhinConfig, TieredStorage } from '@takhin/core';
import type { CliOutput } from './cli-output.js';
import type { ExitCode } from './exit-codes.js';

/** What a command gets: its arguments, the output, and the config and data dir, loaded on demand. */
export interface CommandContext {
  readonly positionals: readonly string[];
  readonly options: { readonly due: boolean; readonly maxBytes: string | undefined; readonly takeOver: boolean };
  readonly output: CliOutput;
  readonly env: NodeJS.ProcessEnv;
  config(): Promise<TakhinConfig>;
  /** Opens the data dir for this command (refused when a console holds it); the caller closes it. */
  open(owner?: Record<string, unknown>, options?: { readonly takeOverColdStore?: boolean }): Promise<TieredStorage>;
}

export type Command = (context: CommandContext) => Promise<ExitCode>;

/** Runs `use` on the opened data dir and always closes it. */
export async function withDataDir<T>(context: CommandContext, use: (tiered: TieredStorage) => Promise<T>, options?: { readonly takeOverColdStore?: boolean }): Promise<T> {
  const tiered = await context.open(undefined, options);
  try {
    return await use(tiered);
  } finally {
    await tiered.close();
  }
}
