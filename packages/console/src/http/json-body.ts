import type { IncomingMessage } from 'node:http';
import { invalidBody, invalidJson, payloadTooLarge, requestAborted, unsupportedMediaType } from './api-error.js';

/** The largest body any endpoint takes: `{"segment_path": …}` is well under 1 KiB. */
export const MAX_BODY_BYTES = 4096;

/** Whether the request carries body bytes: a chunked one, or a Content-Length above 0 (Node has checked it is digits). */
export function hasBody(request: IncomingMessage): boolean {
  const declared = request.headers['content-length'];
  return (declared !== undefined && Number(declared) > 0) || request.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads a JSON body: `Content-Type: application/json` (so a cross-site form cannot post one
 * without a CORS preflight this server never grants), at most `limit` bytes (checked on the
 * declared length before reading, and again while reading), parsed. An empty body is `{}`.
 */
export async function readJsonBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const declared = request.headers['content-length'];
  if (hasBody(request)) {
    const type = request.headers['content-type'];
    const mediaType = type?.split(';')[0]!.trim().toLowerCase();
    if (mediaType !== 'application/json') throw unsupportedMediaType(type);
    const charset = /;\s*charset=("?)([^";]+)\1/i.exec(type ?? '')?.[2]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw unsupportedMediaType(type);
  }
  if (declared !== undefined && Number(declared) > limit) throw payloadTooLarge(limit);

  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of request as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > limit) throw payloadTooLarge(limit);
      chunks.push(chunk);
    }
  } catch (error) {
    // The client closed the connection (or took too long) before its body was whole: its doing, not a bug to log.
    if ((error as NodeJS.ErrnoException).code === 'ECONNRESET') throw requestAborted();
    throw error;
  }
  if (length === 0) return {};
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw invalidJson('it is not UTF-8');
  }
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    throw invalidJson((error as Error).message);
  }
  const repeated = repeatedName(text);
  if (repeated !== undefined) throw invalidBody(`field ${JSON.stringify(repeated.slice(0, 100))} is given more than once; give each field once`);
  return body;
}

/**
 * The first name given twice in one object of `text` (valid JSON), or undefined. `JSON.parse`
 * keeps the last one silently, so `{"segment_path": A, "segment_path": B}` would act on B
 * while a proxy or a log that read A saw a different request.
 */
function repeatedName(text: string): string | undefined {
  // One entry per open object (the names seen in it) or array (undefined).
  const open: (Set<string> | undefined)[] = [];
  let expectingName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (expectingName) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const names = open.at(-1)!;
        if (names.has(name)) return name;
        names.add(name);
        expectingName = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      expectingName = true;
    } else if (c === '[') {
      open.push(undefined);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      expectingName = open.at(-1) !== undefined;
    }
  }
  return undefined;
}
