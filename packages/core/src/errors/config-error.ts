/** A configuration value that cannot be used; `path` names the offending key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`invalid configuration "${path}": ${reason}`);
  }
}
