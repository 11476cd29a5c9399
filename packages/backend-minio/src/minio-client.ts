import { AsyncLocalStorage } from 'node:async_hooks';
import * as http from 'node:http';
import * as https from 'node:https';
import { Client } from 'minio';
import type { MinioConfig } from './config.js';

/** A silent socket (a server gone mid-transfer) fails within half a minute. */
const SOCKET_IDLE_TIMEOUT_MS = 30_000;

/**
 * The AbortSignal of the operation in progress. The minio client takes no signals, so each
 * operation runs inside `requestSignal.run(signal, …)` and the transport below hands the
 * signal to every HTTP request that operation makes: an abort cancels in-flight requests.
 */
export const requestSignal = new AsyncLocalStorage<AbortSignal | undefined>();

/** Runs one client call with `signal` attached to the requests it makes. */
export function withSignal<T>(signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
  return requestSignal.run(signal, call);
}

/** Builds the minio client the way this backend needs it; touches no network. */
export function createMinioClient(config: MinioConfig): { client: Client; agent: http.Agent } {
  const url = new URL(config.endpoint);
  const useSSL = url.protocol === 'https:';
  const agent = new (useSSL ? https.Agent : http.Agent)({ keepAlive: true, maxSockets: 64 });
  const send = useSSL ? https.request : http.request;
  const transport = {
    request(options: http.RequestOptions, callback?: (response: http.IncomingMessage) => void): http.ClientRequest {
      const signal = requestSignal.getStore();
      const request = send({ ...options, agent, ...(signal && { signal }) }, callback);
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
