import type { MultipartUpload } from '../driver/cold-store-driver.js';

/**
 * Multipart uploads whose abort failed (the server was unreachable when the put failed).
 * They are remembered and retried before the next put and on close, so a passing outage does
 * not leave parts stored, and billed, on the server until a lifecycle rule finds them.
 */
export class PendingAborts {
  readonly #uploads = new Map<string, MultipartUpload>(); // upload id → upload

  /** `abort` asks the server to discard an upload; it resolves for one the server no longer knows. */
  constructor(private readonly abortUpload: (upload: MultipartUpload) => Promise<void>) {}

  /** Uploads still waiting for their abort. */
  get size(): number {
    return this.#uploads.size;
  }

  /** Aborts an upload now; if the server cannot be asked, remembers it for `retry`. */
  async abort(upload: MultipartUpload): Promise<void> {
    try {
      await this.abortUpload(upload);
      this.#uploads.delete(upload.id);
    } catch {
      this.#uploads.set(upload.id, upload);
    }
  }

  /** Retries every remembered abort; returns how many are now done. */
  async retry(): Promise<number> {
    let done = 0;
    for (const upload of [...this.#uploads.values()]) {
      await this.abort(upload);
      if (!this.#uploads.has(upload.id)) done++;
    }
    return done;
  }
}
