import { headersTooLarge, malformedRequest, requestAborted, requestTimeout, type ApiError } from './api-error.js';

/** The limits a malformed request may have run into, as the server is configured. */
export interface RequestLimits {
  readonly maxHeaderBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
}

/**
 * What Node's HTTP parser refused before any handler ran (the server's `clientError`), as the
 * API's own `{ error, message }`: too large headers are 431, a request too slow to arrive 408,
 * anything else a malformed request, named by what was wrong where the parser says so.
 */
export function clientErrorOf(error: NodeJS.ErrnoException, limits: RequestLimits): ApiError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return headersTooLarge(limits.maxHeaderBytes);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return requestTimeout(limits.headersTimeoutMs, limits.requestTimeoutMs);
    case 'HPE_INVALID_EOF_STATE':
      return requestAborted();
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return malformedRequest('the Content-Length header is not one whole number, or comes with Transfer-Encoding');
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return malformedRequest('the Transfer-Encoding header is not "chunked" alone');
    case 'HPE_INVALID_CHUNK_SIZE':
      return malformedRequest('a chunk of the chunked body has an invalid size line');
    case 'HPE_INVALID_METHOD':
      return malformedRequest('the request line does not start with an HTTP method');
    default:
      return malformedRequest(`malformed HTTP request (${error.code ?? 'parse error'})`);
  }
}
