import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3Config } from './config.js';

/** A dead endpoint fails fast; a silent socket (server gone mid-transfer) fails within half a minute. */
const CONNECTION_TIMEOUT_MS = 5_000;
const SOCKET_IDLE_TIMEOUT_MS = 30_000;

/** Builds the SDK client the way this backend needs it; touches no network. */
export function createS3Client(config: S3Config): S3Client {
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint !== undefined && { endpoint: config.endpoint }),
    ...(config.forcePathStyle !== undefined && { forcePathStyle: config.forcePathStyle }),
    // Without static keys the SDK's default chain (env, profile, SSO, IMDS, …) applies.
    ...(config.accessKeyId !== undefined &&
      config.secretAccessKey !== undefined && {
        credentials: {
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
          ...(config.sessionToken !== undefined && { sessionToken: config.sessionToken }),
        },
      }),
    // Retries happen once, in core's retry layer, for retryable codes only.
    maxAttempts: 1,
    // We send our own CRC32C (native, computed in core's one hashing pass) with every write;
    // the SDK's JS checksums would hash every byte again. Reads are verified end to end
    // against the manifest's checksums instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: CONNECTION_TIMEOUT_MS,
      socketTimeout: SOCKET_IDLE_TIMEOUT_MS,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    }),
  });
  // Over plain http the SigV4 signer would SHA-256 every body a second time to sign it; every
  // write here carries a CRC32C the server verifies, so the payload goes unsigned, as over https.
  client.middlewareStack.add(
    (next) => (args) => {
      const request = args.request as { protocol?: string; headers?: Record<string, string> };
      if (request.protocol === 'http:' && request.headers && request.headers['x-amz-content-sha256'] === undefined) {
        request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      }
      return next(args);
    },
    { step: 'build', name: 'takhinUnsignedPayload' },
  );
  return client;
}
