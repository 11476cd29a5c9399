/**
 * What is wrong with bytes that should be in one of Kafka's on-disk formats:
 * - `TRUNCATED`: the data ends inside a structure (a batch header, a batch, an index entry);
 * - `UNSUPPORTED`: well-formed but not a format we read (v0/v1 message sets, a newer version);
 * - `CORRUPT`: a checksum mismatch, or a field no Kafka writer produces.
 */
export type KafkaFormatErrorCode = 'TRUNCATED' | 'UNSUPPORTED' | 'CORRUPT';

/** Bytes that are not what Kafka writes; `source` names the file or object, `position` the byte. */
export class KafkaFormatError extends Error {
  override readonly name = 'KafkaFormatError';
  constructor(
    readonly code: KafkaFormatErrorCode,
    message: string,
    readonly source?: string,
    readonly position?: number,
  ) {
    super(message);
  }
}

// One factory per failure, so every reader words the same failure the same way.

/** `<source>: <what> at position <n>` (or without the parts that are unknown). */
function where(what: string, source: string | undefined, position: number | undefined): string {
  return `${source === undefined ? '' : `${source}: `}${what}${position === undefined ? '' : ` at position ${position}`}`;
}

export const truncated = (what: string, needed: number, available: number, source?: string, position?: number) =>
  new KafkaFormatError(
    'TRUNCATED',
    `${where(what, source, position)} is truncated: it needs ${needed} bytes, the data has ${available}`,
    source,
    position,
  );

export const legacyMessageSet = (magic: number, source?: string, position?: number) =>
  new KafkaFormatError(
    'UNSUPPORTED',
    `${where('record batch', source, position)} has magic ${magic}: a v${magic} message set (Kafka before 0.11) is not supported, only v2 record batches are`,
    source,
    position,
  );

export const unsupported = (what: string, detail: string, source?: string, position?: number) =>
  new KafkaFormatError('UNSUPPORTED', `${where(what, source, position)} is not supported: ${detail}`, source, position);

export const corrupt = (what: string, detail: string, source?: string, position?: number) =>
  new KafkaFormatError('CORRUPT', `${where(what, source, position)} is corrupt: ${detail}`, source, position);
