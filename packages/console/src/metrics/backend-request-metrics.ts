import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * One request the cold store made to its backend, as the store-metrics layer of core reports it.
 * This is the console's side of that seam: whatever shape core's layer has, an adapter of a few
 * lines maps it onto this and calls `BackendRequestMetrics.record`.
 */
export interface BackendRequest {
  /** The backend's name (`fs`, `s3`, `minio`, `gcs`, `azure`). */
  readonly backend: string;
  /** The ColdStore operation (`put`, `get`, `head`, `delete`, `list`, or a multipart step). */
  readonly operation: string;
  readonly durationMs: number;
  readonly bytesUp: number;
  readonly bytesDown: number;
  /** The `ColdStoreError` code when it failed. */
  readonly errorCode?: string;
}

/** Something that tells of every backend request (core's store-metrics layer, once wired). */
export interface BackendRequestSource {
  /** Calls `listener` for each request; returns the unsubscribe function. */
  subscribe(listener: (request: BackendRequest) => void): () => void;
}

/**
 * The Prometheus side of per-backend requests: counts, bytes each way, latency and errors by
 * code, labelled by backend and operation. Registered only when a source is attached, so a
 * console without one exposes no such series rather than zeros it never measured.
 */
export class BackendRequestMetrics {
  readonly #requests: Counter<'backend' | 'operation'>;
  readonly #bytes: Counter<'backend' | 'operation' | 'direction'>;
  readonly #latency: Histogram<'backend' | 'operation'>;
  readonly #errors: Counter<'backend' | 'operation' | 'code'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#requests = new Counter({ name: 'tiered_storage_backend_requests_total', help: 'Requests the cold store sent to its backend.', labelNames: ['backend', 'operation'], registers });
    this.#bytes = new Counter({ name: 'tiered_storage_backend_bytes_total', help: 'Bytes moved to (up) and from (down) the backend.', labelNames: ['backend', 'operation', 'direction'], registers });
    this.#latency = new Histogram({
      name: 'tiered_storage_backend_request_duration_seconds',
      help: 'Latency of backend requests.',
      labelNames: ['backend', 'operation'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#errors = new Counter({ name: 'tiered_storage_backend_errors_total', help: 'Failed backend requests by ColdStoreError code.', labelNames: ['backend', 'operation', 'code'], registers });
  }

  record(request: BackendRequest): void {
    const labels = { backend: request.backend, operation: request.operation };
    this.#requests.inc(labels);
    if (request.bytesUp > 0) this.#bytes.inc({ ...labels, direction: 'up' }, request.bytesUp);
    if (request.bytesDown > 0) this.#bytes.inc({ ...labels, direction: 'down' }, request.bytesDown);
    this.#latency.observe(labels, request.durationMs / 1000);
    if (request.errorCode !== undefined) this.#errors.inc({ ...labels, code: request.errorCode });
  }
}
