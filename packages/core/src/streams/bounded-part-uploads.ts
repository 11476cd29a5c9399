export interface BoundedPartUploadOptions<T, P = Buffer> {
  /** Most parts in flight at once; with the part being filled, memory ≤ partSize × queueSize. */
  queueSize: number;
  /** Stops the upload: no further part starts and in-flight parts see their signal fire. */
  signal?: AbortSignal | undefined;
  /** Uploads one part (numbered from 1); must honour `signal`. */
  upload(part: P, partNumber: number, signal: AbortSignal): Promise<T>;
}

/**
 * Drives a multipart upload over `parts` (a put's body cut into parts) with at most `queueSize`
 * parts in flight, pulling the next part only when a slot is free, so a slow server holds
 * the source back instead of filling memory. Resolves to the parts' results in order. The first
 * failure (or `signal`) stops everything; it rejects only once every started part has settled,
 * so the caller can abort the server-side upload knowing no part is still being written.
 */
export async function uploadBoundedParts<T, P = Buffer>(
  parts: AsyncIterable<P>,
  options: BoundedPartUploadOptions<T, P>,
): Promise<T[]> {
  if (!Number.isSafeInteger(options.queueSize) || options.queueSize < 1) {
    throw new RangeError(`queueSize must be a positive integer, got ${options.queueSize}`);
  }
  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const results: T[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    stop.abort(error);
  };
  const iterator = parts[Symbol.asyncIterator]();
  try {
    for (let partNumber = 1; !stop.signal.aborted; partNumber++) {
      const next = await nextUnlessStopped(iterator, stop.signal);
      if (!next || next.done) break;
      const number = partNumber;
      const task: Promise<void> = options
        .upload(next.value, number, stop.signal)
        .then((result) => void (results[number - 1] = result), fail)
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
      // In-flight parts settle promptly once stopped, since they honour the signal.
      if (inFlight.size >= options.queueSize) await Promise.race(inFlight);
    }
  } catch (error) {
    fail(error);
  } finally {
    await Promise.allSettled(inFlight);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (stop.signal.aborted) throw failure ? failure.error : stop.signal.reason;
  return results;
}

/**
 * The source's next part, or `undefined` once `signal` fires, so a source that never yields
 * cannot hang the upload. (Not `Promise.race` against one long-lived "stopped" promise: each
 * race would stay attached to it, and with it every part ever read.)
 */
function nextUnlessStopped<V>(iterator: AsyncIterator<V>, signal: AbortSignal): Promise<IteratorResult<V> | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    iterator.next().then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
