import { Readable } from 'node:stream';
import type { PutBody } from '../contracts/cold-store.js';

/** Any `PutBody` as a Readable of Buffers, without copying byte arrays. */
export function toReadable(body: PutBody): Readable {
  if (body instanceof Readable) return body;
  if (body instanceof Uint8Array) return Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)], { objectMode: false });
  return Readable.from(body, { objectMode: false });
}
