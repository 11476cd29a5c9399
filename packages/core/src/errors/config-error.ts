/** A configuration value that cannot be used; `path` names the offending key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`invalid configuration "${path}": ${reason}`);
  }

  /** The same error rebuilt from its message (after a trip between threads). */
  static withMessage(path: string, message: string): ConfigError {
    const error = new ConfigError(path, '');
    error.message = message;
    return error;
  }
}
