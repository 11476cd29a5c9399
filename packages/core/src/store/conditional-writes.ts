import { randomUUID } from 'node:crypto';
import { checksumBytes } from '../checksums/checksums.js';
import type { ColdStoreDriver } from '../driver/cold-store-driver.js';
import { isColdStoreError } from '../errors/cold-store-error.js';
import { alreadyExists } from '../errors/factories.js';
import { joinKey, RESERVED_KEY_SEGMENT } from '../keys/object-key.js';

/**
 * How a store enforces `ifNoneMatch`: `server` (the server refuses a create-only write over an
 * existing object), `head-check` (the server was found to ignore the condition, so the store
 * heads the key before writing: a race with another writer in between is then possible), or
 * `unknown` before the first create-only write has probed.
 */
export type ConditionalWriteMode = 'server' | 'head-check' | 'unknown';

const PROBE_BODY = Buffer.from('takhin conditional-write probe');

/**
 * Learns, once per store, whether the server honours create-only writes, on both write paths
 * (a single request, and a multipart completion), by trying them on a probe object under the
 * store's reserved `.takhin/` folder. Some S3- and GCS-compatible servers accept the request
 * and ignore the condition; trusting them would let a create-only write replace an object.
 */
export class ConditionalWrites {
  #mode: ConditionalWriteMode;
  #probing: Promise<void> | undefined;

  constructor(
    private readonly driver: ColdStoreDriver,
    private readonly prefix: string,
  ) {
    this.#mode = driver.features.conditionalWrites === 'native' ? 'server' : 'unknown';
  }

  get mode(): ConditionalWriteMode {
    return this.#mode;
  }

  /**
   * Before a create-only write of `key`: probes the server on first use, and where it ignores
   * the condition, fails with `ALREADY_EXISTS` if the key exists now.
   */
  async beforeCreateOnly(key: string, name: string, signal: AbortSignal | undefined): Promise<void> {
    if (this.#mode === 'unknown') {
      this.#probing ??= this.#probe().finally(() => (this.#probing = undefined));
      await this.#probing;
    }
    if (this.#mode === 'head-check' && (await this.driver.headObject({ key, name, signal }))) throw alreadyExists(this.driver.backend, key);
  }

  async #probe(): Promise<void> {
    const key = `${RESERVED_KEY_SEGMENT}/probe/${randomUUID()}`;
    const name = joinKey(this.prefix, key);
    const write = { key, name, body: PROBE_BODY, checksums: checksumBytes(PROBE_BODY), metadata: {} };
    await this.driver.putObject({ ...write, ifNoneMatch: false });
    try {
      const single = await this.#refused(() => this.driver.putObject({ ...write, ifNoneMatch: true }));
      const multipart = single && (await this.#refused(() => this.#multipartWrite(write)));
      this.#mode = single && multipart ? 'server' : 'head-check';
    } finally {
      await this.driver.deleteObject({ key, name }).catch(() => {});
    }
  }

  /** A one-part create-only multipart write of the probe. */
  async #multipartWrite(write: { key: string; name: string; body: Buffer; checksums: { crc32c: string; sha256: string }; metadata: Record<string, string> }): Promise<void> {
    const upload = await this.driver.createMultipart({ ...write, ifNoneMatch: true, declared: {} });
    try {
      const part = await this.driver.uploadPart({ upload, number: 1, body: write.body, crc32c: write.checksums.crc32c, signal: new AbortController().signal });
      await this.driver.completeMultipart({ upload, parts: [part], size: write.body.byteLength, checksums: write.checksums, metadata: {}, ifNoneMatch: true });
    } catch (error) {
      await this.driver.abortMultipart(upload).catch(() => {});
      throw error;
    }
  }

  /** Whether the server refused the write with a failed precondition (other failures throw). */
  async #refused(write: () => Promise<unknown>): Promise<boolean> {
    try {
      await write();
      return false;
    } catch (error) {
      if (isColdStoreError(error, 'ALREADY_EXISTS')) return true;
      throw error;
    }
  }
}
