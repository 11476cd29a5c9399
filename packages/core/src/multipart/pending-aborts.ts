/** How a backend aborts one multipart upload on its server. */
export interface UploadAborter {
  /** Aborts the upload; rejects if the server could not be asked. */
  abort(fullKey: string, uploadId: string): Promise<void>;
  /** Whether an abort's error means the upload is gone already (e.g. S3's `NoSuchUpload`). */
  isGone(error: unknown): boolean;
}

/**
 * Multipart uploads whose abort failed (the server was unreachable when the put failed).
 * They are remembered and retried before the next put and on close, so a passing outage does
 * not leave parts stored, and billed, on the server until a lifecycle rule finds them.
 */
export class PendingAborts {
  readonly #uploads = new Map<string, string>(); // upload id → full key

  constructor(private readonly aborter: UploadAborter) {}

  /** Uploads still waiting for their abort. */
  get size(): number {
    return this.#uploads.size;
  }

  /** Aborts an upload now; if the server cannot be asked, remembers it for `retry`. */
  async abort(fullKey: string, uploadId: string): Promise<void> {
    try {
      await this.aborter.abort(fullKey, uploadId);
      this.#uploads.delete(uploadId);
    } catch (error) {
      if (this.aborter.isGone(error)) this.#uploads.delete(uploadId);
      else this.#uploads.set(uploadId, fullKey);
    }
  }

  /** Retries every remembered abort; returns how many are now done. */
  async retry(): Promise<number> {
    let done = 0;
    for (const [uploadId, fullKey] of [...this.#uploads]) {
      await this.abort(fullKey, uploadId);
      if (!this.#uploads.has(uploadId)) done++;
    }
    return done;
  }
}
