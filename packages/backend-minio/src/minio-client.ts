import { AsyncLocalStorage } from 'node:async_hooks';
import * as http from 'node:http';
import * as https from 'node:https';
import { Client } from 'minio';
import type { MinioConfig } from './config.js';

/** A silent socket (a server gone mid-transfer) fails within half a minute. */
const SOCKET_IDLE_TIMEOUT_MS = 30_000;

/** What the transport below knows of the client call in progress. */
interface CallContext {
  signal: AbortSignal | undefined;
  /** The `Retry-After` of the last answer the call got, if it sent one. */
  retryAfter?: string | undefined;
}

/**
 * The client call in progress. The minio client takes no signals, so each call runs inside
 * `withSignal` and the transport below hands the signal to every HTTP request that call makes:
 * an abort cancels in-flight requests. With its retries off, the client reports a 503 or 429
 * as a bare `Error` without the answer's headers, so the transport keeps the `Retry-After` here
 * and `withSignal` puts it on the error as `headers`, where core's retry reads it.
 */
export const requestSignal = new AsyncLocalStorage<CallContext>();

/** Runs one client call with `signal` attached to the requests it makes (and the server's `Retry-After` on its failure). */
export async function withSignal<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  const context: CallContext = { signal };
  try {
    return await requestSignal.run(context, call);
  } catch (error) {
    if (context.retryAfter !== undefined && error instanceof Error && !('headers' in error)) Object.assign(error, { headers: { 'retry-after': context.retryAfter } });
    throw error;
  }
}

/** Builds the minio client the way this backend needs it; touches no network. */
export function createMinioClient(config: MinioConfig): { client: Client; agent: http.Agent } {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  const agent = new (useSSL ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 64 });
  const send = useSSL ? https.request : http.request;
  const transport = {
    request(options: http.RequestOptions, callback?: (response: http.IncomingMessage) => void): http.ClientRequest {
      const context = requestSignal.getStore();
      const signal = context?.signal;
      const request = send({ ...options, agent, ...(signal && { signal }) }, (response) => {
        if (context) context.retryAfter = typeof response.headers['retry-after'] === 'string' ? response.headers['retry-after'] : undefined;
        callback?.(response);
      });
      request.setTimeout(SOCKET_IDLE_TIMEOUT_MS, () => {
        request.destroy(Object.assign(new Error(`no response for ${SOCKET_IDLE_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' }));
      });
      return request;
    },
  };
  const client = new Client({
    endPoint: url.hostname,
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    ...(config.sessionToken !== undefined && { sessionToken: config.sessionToken }),
    region: config.region,
    pathStyle: true,
    transport: transport as unknown as typeof http,
    transportAgent: agent,
    // Retries happen once, in core's retry layer, for retryable codes only.
    retryOptions: { disableRetry: true },
  });
  // Over plain http the client would SHA-256 every body to sign it: every byte hashed a second
  // time. Every write here carries a CRC32C the server verifies, so the payload goes unsigned.
  client.enableSHA256 = false;
  return { client, agent };
}
