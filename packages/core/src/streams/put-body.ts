import { Readable } from 'node:stream';
import type { PutBody } from '../contracts/cold-store.js';

/** Any `PutBody` as a Readable of Buffers, without copying byte arrays. */
export function toReadable(body: PutBody): Readable {
  if (body instanceof Readable) return body;
  if (body instanceof Uint8Array) return Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)], { objectMode: false });
  return Readable.from(body, { objectMode: false });
}

/** The body's size when it can be known without reading it. */
export function knownBodySize(body: PutBody, declared?: number): number | undefined {
  if (declared !== undefined) return declared;
  return body instanceof Uint8Array ? body.byteLength : undefined;
}
