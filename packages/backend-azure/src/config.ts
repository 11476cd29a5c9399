import { ConfigError, normalizePrefix, parseConfigObject, type ConfigOf } from '@takhin/core';

export const AZURE_CONFIG_PATH = 'storage.tiered.azure';

/**
 * Access tiers a store may write to. `Archive` is left out: an archived blob must be
 * rehydrated (for hours) before every read.
 */
export const AZURE_ACCESS_TIERS = ['Hot', 'Cool', 'Cold'] as const;

const MiB = 1024 * 1024;

const schema = {
  container: { type: 'string', required: true, nonEmpty: true },
  /** Key prefix inside the container, without leading or trailing `/`. */
  prefix: { type: 'string', default: '' },
  /** A full connection string (Azurite's, or an account's); excludes the other credentials. */
  connectionString: { type: 'string', nonEmpty: true },
  /** `https://<account>.blob.core.windows.net` (or Azurite's `http://127.0.0.1:10000/<account>`). */
  accountUrl: { type: 'string', nonEmpty: true, httpUrl: true },
  accountName: { type: 'string', nonEmpty: true },
  accountKey: { type: 'string', nonEmpty: true },
  /** A SAS token (with or without the leading `?`) used with `accountUrl`. */
  sasToken: { type: 'string', nonEmpty: true },
  /** Bytes per staged block (the part size); bodies shorter than one block go in a single Put Blob. */
  blockSizeMb: { type: 'number', default: 8, min: 0.0625, max: 4000 },
  /** Blocks staged at once per put; a put holds at most (concurrency + 1) × block size of body. */
  concurrency: { type: 'number', default: 4, min: 1, max: 64, integer: true },
  /** The access tier every blob is written in (`Cool`, `Cold`); the account's default when omitted. */
  storageClass: { type: 'string', oneOf: AZURE_ACCESS_TIERS },
} as const;

export type AzureConfig = ConfigOf<typeof schema>;

/** Validates a plain `storage.tiered.azure` section; errors name the offending key. */
export function parseAzureConfig(raw: unknown): AzureConfig {
  if ((raw as { storageClass?: unknown } | null | undefined)?.storageClass === 'Archive') {
    throw new ConfigError(`${AZURE_CONFIG_PATH}.storageClass`, 'an Archive blob must be rehydrated (for hours) before each read; use Cool or Cold');
  }
  const config = parseConfigObject(AZURE_CONFIG_PATH, raw, schema);
  const at = (key: string) => `${AZURE_CONFIG_PATH}.${key}`;
  const prefix = normalizePrefix(config.prefix);
  if (prefix === undefined) throw new ConfigError(at('prefix'), `not a valid key path: ${JSON.stringify(config.prefix)}`);
  if (config.connectionString !== undefined) {
    for (const key of ['accountUrl', 'accountName', 'accountKey', 'sasToken'] as const) {
      if (config[key] !== undefined) throw new ConfigError(at(key), 'cannot be combined with connectionString');
    }
    const problem = describeConnectionStringProblem(config.connectionString);
    if (problem !== undefined) throw new ConfigError(at('connectionString'), problem);
  } else {
    if (config.accountKey !== undefined && !isBase64(config.accountKey)) throw new ConfigError(at('accountKey'), NOT_BASE64);
    if (config.accountUrl === undefined) throw new ConfigError(at('accountUrl'), 'is required unless connectionString is given');
    if (config.accountKey !== undefined && config.accountName === undefined) throw new ConfigError(at('accountName'), 'is required with accountKey');
    if (config.accountKey !== undefined && config.sasToken !== undefined) throw new ConfigError(at('sasToken'), 'cannot be combined with accountKey');
  }
  return { ...config, prefix };
}

/**
 * What makes a connection string unusable, or `undefined`. The SDK would only fail when the
 * first store is built, with a bare `TypeError: Invalid URL`. Never quotes the string: it
 * holds the account key.
 */
function describeConnectionStringProblem(connectionString: string): string | undefined {
  const parts = new Map<string, string>();
  for (const pair of connectionString.split(';')) {
    if (pair.trim() === '') continue;
    const equals = pair.indexOf('=');
    if (equals <= 0) return 'expected "Name=value" pairs separated by ";" (e.g. "DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…")';
    parts.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
  }
  if (parts.get('UseDevelopmentStorage') === 'true') return undefined;
  const endpoint = parts.get('BlobEndpoint');
  if (endpoint !== undefined) {
    const url = URL.parse(endpoint);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return 'BlobEndpoint must be an http:// or https:// URL';
  } else if (!['http', 'https'].includes(parts.get('DefaultEndpointsProtocol') ?? '')) {
    return 'needs BlobEndpoint, or DefaultEndpointsProtocol set to "https" (or "http")';
  }
  const hasKey = parts.has('AccountName') && parts.has('AccountKey');
  if (parts.has('AccountKey') && !isBase64(parts.get('AccountKey')!)) return `its AccountKey ${NOT_BASE64}`;
  if (!hasKey && !parts.has('SharedAccessSignature')) return 'needs AccountName and AccountKey, or SharedAccessSignature';
  return undefined;
}

/**
 * An account key is base64 (the portal's 88 characters). The SDK decodes anything without a
 * word, so a mistyped key would only show at the first request, as every request's
 * authentication failure. Never quoted: it is a secret.
 */
const NOT_BASE64 = 'must be the base64 account key (as the portal shows it); this one is not base64';

function isBase64(text: string): boolean {
  return text.length > 0 && text.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(text);
}

export const blockSizeBytes = (config: AzureConfig) => Math.floor(config.blockSizeMb * MiB);
