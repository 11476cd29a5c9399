import type { ColdStoreDriver, MultipartUpload } from '../driver/cold-store-driver.js';

/** The driver requests, as metrics and retries name them. */
export type DriverOperation =
  | 'putObject'
  | 'createMultipart'
  | 'uploadPart'
  | 'completeMultipart'
  | 'abortMultipart'
  | 'getObject'
  | 'headObject'
  | 'listPage'
  | 'deleteObject'
  | 'deleteBatch'
  | 'assertContainer'
  | 'listOpenUploads';

/** What a layer knows about the request it wraps. */
export interface DriverCall {
  readonly operation: DriverOperation;
  /** The caller's key (or list prefix) the request is about, for errors. */
  readonly key?: string | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Body bytes the request sends, counted once it succeeds. */
  readonly bytesUp?: number | undefined;
  /**
   * Whether sending the request again is safe and useful. Commits (`putObject`,
   * `completeMultipart`) are not retried by the layer: the write path retries them itself,
   * because only it can tell a lost answer from a failure (see object-writer.ts).
   */
  readonly retryable: boolean;
}

/** A layer: runs `send` (the next layer's request) and may time, map or repeat it. */
export type DriverLayer = <T>(call: DriverCall, send: () => Promise<T>) => Promise<T>;

/**
 * A driver whose every request goes through `layer`. Each method is listed once here, so a new
 * layer is one function, not another copy of the driver's interface.
 */
export function layerDriver<Upload extends MultipartUpload>(inner: ColdStoreDriver<Upload>, layer: DriverLayer): ColdStoreDriver<Upload> {
  return {
    backend: inner.backend,
    limits: inner.limits,
    features: inner.features,
    putObject: (write) => layer({ operation: 'putObject', key: write.key, bytesUp: write.body.byteLength, retryable: false }, () => inner.putObject(write)),
    createMultipart: (start) => layer({ operation: 'createMultipart', key: start.key, retryable: true }, () => inner.createMultipart(start)),
    uploadPart: (part) =>
      layer({ operation: 'uploadPart', key: part.upload.key, signal: part.signal, bytesUp: part.body.byteLength, retryable: part.upload.partsResendable !== false }, () => inner.uploadPart(part)),
    completeMultipart: (completion) => layer({ operation: 'completeMultipart', key: completion.upload.key, retryable: false }, () => inner.completeMultipart(completion)),
    abortMultipart: (upload) => layer({ operation: 'abortMultipart', key: upload.key, retryable: true }, () => inner.abortMultipart(upload)),
    signRead: inner.signRead && ((read) => inner.signRead!(read)),
    // Not retried: bytes may already be in the sink. Counted and mapped as the read it is.
    readInto: inner.readInto && ((read, sink) => layer({ operation: 'getObject', key: read.key, signal: read.signal, retryable: false }, () => inner.readInto!(read, sink))),
    getObject: (read) => layer({ operation: 'getObject', key: read.key, signal: read.signal, retryable: true }, () => inner.getObject(read)),
    headObject: (request) => layer({ operation: 'headObject', key: request.key, signal: request.signal, retryable: true }, () => inner.headObject(request)),
    listPage: (request) => layer({ operation: 'listPage', key: request.key, signal: request.signal, retryable: true }, () => inner.listPage(request)),
    deleteObject: (request) => layer({ operation: 'deleteObject', key: request.key, signal: request.signal, retryable: true }, () => inner.deleteObject(request)),
    deleteBatch: inner.deleteBatch && ((batch) => layer({ operation: 'deleteBatch', signal: batch.signal, retryable: true }, () => inner.deleteBatch!(batch))),
    assertContainer:
      inner.assertContainer && ((signal) => layer({ operation: 'assertContainer', signal, retryable: true }, () => inner.assertContainer!(signal))),
    listOpenUploads: inner.listOpenUploads && ((prefix) => layer({ operation: 'listOpenUploads', retryable: true }, () => inner.listOpenUploads!(prefix))),
    mapError: (error, context) => inner.mapError(error, context),
    close: () => inner.close(),
  };
}
