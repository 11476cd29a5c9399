/**
 * A body that reads itself straight into a part buffer, sequentially: a local file. The write
 * path fills its reused part buffers with it, so the body makes no chunks to copy and no
 * garbage for V8 to collect: memory is the part buffers alone. It must also be a readable
 * stream of the same bytes (a store not built on core's write path reads it that way).
 */
export interface DirectBody {
  /**
   * Reads up to `length` bytes into `target` at `offset`, continuing where the last read ended;
   * resolves to how many, 0 at the end. May throw a `ColdStoreError` (a file that changed).
   */
  readInto(target: Buffer, offset: number, length: number): Promise<number>;
}

export function isDirectBody(body: unknown): body is DirectBody {
  return typeof (body as Partial<DirectBody> | null)?.readInto === 'function';
}
