import type { MultipartUpload } from '../driver/cold-store-driver.js';

/**
 * Multipart uploads whose abort failed (the server was unreachable when the put failed) or has
 * not answered yet. They are remembered until the server confirms the abort, and retried before
 * the next put and on close, so a passing outage does not leave parts stored, and billed, on the
 * server until a lifecycle rule finds them. An upload has at most one abort in flight.
 */
export class PendingAborts {
  readonly #uploads = new Map<string, MultipartUpload>(); // upload id → upload
  readonly #inFlight = new Map<string, Promise<void>>(); // upload id → its abort request

  /** `abort` asks the server to discard an upload; it resolves for one the server no longer knows. */
  constructor(private readonly abortUpload: (upload: MultipartUpload) => Promise<void>) {}

  /** Uploads still waiting for their abort. */
  get size(): number {
    return this.#uploads.size;
  }

  /**
   * Aborts an upload now; if the server cannot be asked, remembers it for `retry`. With
   * `waitMs`, waits no longer than that for the server's answer: an abort still unanswered then
   * (a silent server, whose requests end only at their socket timeout, for every retry) goes on
   * and is remembered meanwhile, so a caller who aborted a put is not held for minutes.
   */
  async abort(upload: MultipartUpload, options: { waitMs?: number | undefined } = {}): Promise<void> {
    await waitAtMost(this.#attempt(upload), options.waitMs);
  }

  /** Retries every remembered abort (each waited for at most `waitMs`); returns how many are now done. */
  async retry(options: { waitMs?: number | undefined } = {}): Promise<number> {
    let done = 0;
    for (const upload of [...this.#uploads.values()]) {
      await waitAtMost(this.#attempt(upload), options.waitMs);
      if (!this.#uploads.has(upload.id)) done++;
    }
    return done;
  }

  /** The upload's abort in flight, or a new one; never rejects. */
  #attempt(upload: MultipartUpload): Promise<void> {
    const running = this.#inFlight.get(upload.id);
    if (running) return running;
    this.#uploads.set(upload.id, upload);
    const attempt = this.abortUpload(upload)
      .then(
        () => void this.#uploads.delete(upload.id),
        () => {}, // kept in #uploads for the next retry
      )
      .finally(() => this.#inFlight.delete(upload.id));
    this.#inFlight.set(upload.id, attempt);
    return attempt;
  }
}

/** Waits for `promise` (which never rejects), or `ms` if given, whichever comes first. */
async function waitAtMost(promise: Promise<void>, ms: number | undefined): Promise<void> {
  if (ms === undefined) return promise;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
